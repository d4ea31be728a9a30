"""Where a training step's rows come from: the :class:`BatchSource` protocol and two implementations.

- :class:`InMemorySource`: named tensors of equal length kept on the module's device (non-persistent
  buffers, so they move with ``module.to(device)`` and stay out of checkpoints); the base module picks
  the rows of global step ``t`` with :func:`contrastkit.training.steps.batch_rows`, so they depend only on
  ``(seed, t, rank, world size)`` and a resumed run replays exactly. Lightning iterates over
  :class:`~contrastkit.training.steps.StepTicks`.
- :class:`LoaderSource`: any ``DataLoader`` (text, sequences, graphs, audio: data that is not one
  stacked tensor); Lightning iterates over it and the step receives its batches as they come
  (Lightning's distributed sampler splits them across ranks).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn
from torch.utils.data import DataLoader

from contrastkit.training.steps import StepTicks


@runtime_checkable
class BatchSource(Protocol):
    """What :class:`~contrastkit.training.base.StepModule` trains from."""

    indexed: bool  # True: the module picks rows by step (take); False: Lightning's loader yields batches

    def loader(self, max_steps: int) -> DataLoader: ...


class InMemorySource(nn.Module):
    """Named tensors of equal first dimension ``n`` (``None`` allowed for an absent optional field).

    ``take(rows)`` returns ``{name: tensor[rows]}`` on the tensors' device. Attribute access
    (``source.images``) returns the whole tensor.
    """

    indexed = True

    def __init__(self, **tensors: Tensor | None) -> None:
        super().__init__()
        present = {k: v for k, v in tensors.items() if v is not None}
        if not present:
            raise ValueError("tensors: expected at least one tensor")
        for name, value in present.items():
            if not isinstance(value, Tensor):
                raise TypeError(f"{name}: expected a tensor, got {type(value).__name__}")
        lengths = {name: value.shape[0] for name, value in present.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"tensors: expected equal first dimensions, got {lengths}")
        self.names = tuple(tensors)
        self.n = next(iter(lengths.values()))
        for name, value in tensors.items():
            self.register_buffer(name, value, persistent=False)

    def __len__(self) -> int:
        return self.n

    def take(self, rows: Tensor) -> dict[str, Tensor]:
        """``{name: tensor[rows]}`` (absent fields are left out); ``rows`` is moved to the tensors' device."""
        out = {}
        for name in self.names:
            value = getattr(self, name)
            if value is not None:
                out[name] = value[rows.to(value.device)]
        return out

    def loader(self, max_steps: int) -> DataLoader:
        """One tick per step: the data of a step comes from :meth:`take`."""
        return DataLoader(StepTicks(max_steps), batch_size=None, shuffle=False)


class LoaderSource:
    """A ``DataLoader`` whose batches the step receives unchanged (``indexed = False``)."""

    indexed = False

    def __init__(self, loader: DataLoader) -> None:
        if not isinstance(loader, DataLoader):
            raise TypeError(f"loader: expected a torch DataLoader, got {type(loader).__name__}")
        self._loader = loader

    def __len__(self) -> int:
        return len(self._loader.dataset)  # type: ignore[arg-type]

    def loader(self, max_steps: int) -> DataLoader:
        return self._loader


class UnboundSource:
    """No data yet: a model built without data and trained with ``contrastkit.fit(model, data=...)``."""

    indexed = False

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def __len__(self) -> int:
        return 0

    def loader(self, max_steps: int) -> DataLoader:
        raise ValueError(f"data: {self.owner} was built without training data; pass data= to contrastkit.fit")


def as_source(data: Any) -> BatchSource:
    """``data`` as a :class:`BatchSource`: a source as is, a ``DataLoader`` as :class:`LoaderSource`."""
    if isinstance(data, (InMemorySource, LoaderSource, UnboundSource)):
        return data
    if isinstance(data, DataLoader):
        return LoaderSource(data)
    if isinstance(data, BatchSource):
        return data
    raise TypeError(f"source: expected an InMemorySource, LoaderSource or DataLoader, got {type(data).__name__}")


__all__ = ["BatchSource", "InMemorySource", "LoaderSource", "UnboundSource", "as_source"]
