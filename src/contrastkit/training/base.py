"""The one training base: :class:`StepModule` owns the step's rows, re-seeding, the optimizer and logging.

A subclass implements :meth:`StepModule.loss_terms` (``batch dict -> {"loss": total, ...}``) and nothing
of the loop: the rows of global step ``t`` on rank ``r`` of ``W`` are
``batch_rows(t, n, batch_size, seed, r, W)`` (the global batch split ``r::W``), the RNG is reseeded to
``step_seed(seed, t, r)`` before the step's augmentations, every term is logged as ``train_<name>``,
and :meth:`configure_optimizers` builds Adam / AdamW over :meth:`trainable_parameters`.

Under DDP a subclass whose loss needs the negatives of every rank calls :meth:`gather` on its
embeddings (autograd all-gather: the gradient reaching each rank's rows is the sum over ranks, so
DDP's average of the parameter gradients equals the single-process gradient on the concatenated
batch; see :mod:`contrastkit.functional.distributed`) and :meth:`shared_seed` before randomness that
must be the same on every rank (e.g. sampled partner labels of the global batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import lightning as L
import torch
from torch import Tensor, nn

from contrastkit.functional import distributed as ckdist
from contrastkit.training.sources import BatchSource, InMemorySource, as_source
from contrastkit.training.steps import batch_rows, step_seed

OPTIMIZERS = ("adam", "adamw")


class StepModule(L.LightningModule):
    """Base LightningModule of the training schemes (see the module docstring).

    Args:
        source: the training data (:class:`InMemorySource`, :class:`LoaderSource` or a ``DataLoader``).
        batch_size: global batch size (split across ranks under DDP); for an in-memory source.
        lr, weight_decay: optimizer settings; ``optimizer``: ``"adam"`` or ``"adamw"``.
        seed: base seed of the step's rows and augmentation RNG.
    """

    def __init__(self, source: BatchSource | Any, *, batch_size: int, lr: float, weight_decay: float = 0.0,
                 seed: int = 0, optimizer: Literal["adam", "adamw"] = "adamw") -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        source = as_source(source)
        if isinstance(source, nn.Module):
            self.source = source  # registered: its tensors move with the module
        else:
            self._source = source
        self.batch_size, self.lr, self.weight_decay, self.seed = batch_size, lr, weight_decay, seed
        self.optimizer_name = optimizer

    # ------------------------------------------------------------------ where am I
    @property
    def data(self) -> BatchSource:
        return self.source if isinstance(getattr(self, "source", None), InMemorySource) else self._source

    @property
    def rank(self) -> int:
        """This process's rank: the trainer's when attached, else ``torch.distributed``'s (0 alone)."""
        return int(self.trainer.global_rank) if self._trainer is not None else ckdist.rank()

    @property
    def world_size(self) -> int:
        return int(self.trainer.world_size) if self._trainer is not None else ckdist.world_size()

    # ------------------------------------------------------------------ the step's data
    def step_rows(self, step: int) -> Tensor:
        """Row indices of this rank's share of the global batch of ``step``."""
        return batch_rows(step, len(self.data), self.batch_size, self.seed, self.rank, self.world_size)

    def reseed(self, step: int) -> None:
        """Seed the global RNG for ``step`` on this rank (resumed runs replay; ranks differ)."""
        torch.manual_seed(step_seed(self.seed, step, self.rank))

    def shared_seed(self, step: int) -> None:
        """Seed the global RNG identically on every rank (randomness over the gathered global batch)."""
        torch.manual_seed(step_seed(self.seed, step))

    def step_batch(self, step: int, batch: Any = None) -> dict[str, Tensor]:
        """The batch of ``step``: rows of the in-memory source (then :meth:`reseed`), or Lightning's batch."""
        data = self.data
        if not data.indexed:
            self.reseed(step)
            return batch
        rows = self.step_rows(step)
        self.reseed(step)
        return data.take(rows)

    def gather(self, x: Tensor, *, grad: bool = True) -> Tensor:
        """``x`` of every rank concatenated in rank order (autograd-correct); ``x`` itself on one process."""
        if self.world_size <= 1 or not ckdist.is_distributed():
            return x
        return ckdist.all_gather_with_grad(x) if grad else ckdist.all_gather_no_grad(x)

    # ------------------------------------------------------------------ the step
    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        """``{"loss": total, <term>: value, ...}`` of one batch; implemented by the subclass."""
        raise NotImplementedError

    def log_terms(self, terms: dict[str, Tensor], batch_size: int, **kwargs: Any) -> None:
        for name, value in terms.items():
            self.log(f"train_{name}", value, on_step=True, on_epoch=False, batch_size=batch_size, **kwargs)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        data = self.step_batch(step, batch)
        terms = self.loss_terms(data, step)
        first = next(iter(data.values())) if isinstance(data, dict) else data[0]
        self.log_terms(terms, len(first))
        return terms["loss"]

    # ------------------------------------------------------------------ optimizer
    def trainable_parameters(self) -> Iterable[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = list(self.trainable_parameters())
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)


__all__ = ["OPTIMIZERS", "StepModule"]
