"""VICReg (Bardes, Ponce & LeCun, ICLR 2022) as a training method: variance-invariance-covariance
regularisation (:class:`contrastkit.losses.VICReg`) on the projections of two views."""

from __future__ import annotations

from typing import Any

from torch import nn

from contrastkit.losses.ssl import VICReg as VICRegLoss
from contrastkit.methods.view_contrastive import ViewContrastive


class VICReg(ViewContrastive):
    """``L = lambda s(Z, Z') + mu [v(Z) + v(Z')] + nu [c(Z) + c(Z')]`` (eq. 6); ``loss`` defaults to
    ``VICRegLoss()`` (25, 25, 1)."""

    def __init__(self, model: nn.Module | None = None, loss: Any = None, *args: Any, **kwargs: Any) -> None:
        loss = loss if loss is not None else VICRegLoss()
        if not isinstance(loss, VICRegLoss):
            raise ValueError(f"loss: expected contrastkit.losses.VICReg, got {type(loss).__name__}")
        super().__init__(model, loss, *args, **kwargs)


__all__ = ["VICReg"]
