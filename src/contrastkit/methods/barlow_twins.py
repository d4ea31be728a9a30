"""Barlow Twins (Zbontar et al., ICML 2021) as a training method: the cross-correlation loss of
:class:`contrastkit.losses.BarlowTwins` on the projections of two views."""

from __future__ import annotations

from typing import Any

from torch import nn

from contrastkit.losses.ssl import BarlowTwins as BarlowTwinsLoss
from contrastkit.methods.view_contrastive import ViewContrastive


class BarlowTwins(ViewContrastive):
    """``L = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2`` on the batch-standardised projections
    (eq. 1); no negatives, no predictor. ``loss`` defaults to ``BarlowTwinsLoss()``."""

    def __init__(self, model: nn.Module | None = None, loss: Any = None, *args: Any, **kwargs: Any) -> None:
        loss = loss if loss is not None else BarlowTwinsLoss()
        if not isinstance(loss, BarlowTwinsLoss):
            raise ValueError(f"loss: expected contrastkit.losses.BarlowTwins, got {type(loss).__name__}")
        super().__init__(model, loss, *args, **kwargs)


__all__ = ["BarlowTwins"]
