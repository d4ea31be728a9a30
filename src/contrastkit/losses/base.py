"""Shared face of every contrastkit loss: reduction, citation, config, no-positive policy."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from contrastkit._validation import REDUCTIONS, check_choice

NO_POSITIVE_POLICIES = ("error", "ignore")


class ContrastiveLoss(nn.Module):
    """Base class: a loss never owns a model; it maps embeddings to a loss value.

    The contract every loss keeps (checked for every subclass by ``tests/test_loss_contract.py``):

    - ``citation``: the paper (authors, year, venue) whose objective it implements;
    - ``config()``: the constructor arguments, so that ``type(loss)(**loss.config())`` rebuilds it
      (subclasses list them in ``_config_keys``);
    - ``reduction`` among ``reductions``: ``none`` gives one value per input row, ``mean`` / ``sum``
      reduce them. Batch-statistic losses (one value per batch) declare ``("mean", "sum")``, both
      returning that value, and refuse ``none`` with an error naming ``reduction``;
    - multi-term losses list ``part_names`` and return the terms from ``parts(...)`` (same
      arguments as the call) so that they can be logged;
    - bad input raises one ``ValueError`` / ``TypeError`` naming the argument.
    """

    citation: ClassVar[str] = ""
    _config_keys: ClassVar[tuple[str, ...]] = ()
    reductions: ClassVar[tuple[str, ...]] = REDUCTIONS
    part_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_choice(reduction, "reduction", REDUCTIONS)
        if self.reduction not in self.reductions:
            raise ValueError(f"reduction: {type(self).__name__} is one value per batch (batch statistics); "
                             f"expected one of {self.reductions}, got {reduction!r}")

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this loss: ``type(loss)(**loss.config())``."""
        return {key: getattr(self, key) for key in self._config_keys} | {"reduction": self.reduction}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def reduce(self, per_sample: Tensor, counted: Tensor | None = None) -> Tensor:
        """Apply ``self.reduction`` to a per-sample loss vector.

        ``counted`` marks the samples that contribute (the others carry 0 and are left out
        of the mean). An all-excluded batch gives a zero loss that still has a gradient path.
        """
        if self.reduction == "none":
            return per_sample
        if self.reduction == "sum":
            return per_sample.sum()
        if counted is None:
            return per_sample.mean()
        return per_sample.sum() / counted.sum().clamp_min(1)


def per_sample_mean(
    row_losses: list[Tensor], row_counted: list[Tensor], samples: list[Tensor], n: int
) -> tuple[Tensor, Tensor]:
    """Average anchor-row losses onto their input samples (views / directions of one row)."""
    dtype = row_losses[0].dtype
    device = row_losses[0].device
    total = torch.zeros(n, dtype=dtype, device=device)
    count = torch.zeros(n, dtype=dtype, device=device)
    for loss, counted, sample in zip(row_losses, row_counted, samples, strict=True):
        total = total.index_add(0, sample, loss)
        count = count.index_add(0, sample, counted.to(dtype))
    return total / count.clamp_min(1), count > 0
