"""Contrastive regression training: SupReMix, SupCon on binned targets, and direct L1 regression."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.infonce import InfoNCE
from contrastkit.losses.supremix import SupReMix
from contrastkit.methods.batching import batch_rows

OBJECTIVES = ("supremix", "supcon", "l1")


def bin_targets(y: Tensor, num_bins: int, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Equal-width bins of ``[low, high]`` as class ids (SupCon's labels for a regression target)."""
    return ((y - low) / (high - low) * num_bins).floor().clamp(0, num_bins - 1).long()


class ContrastiveRegression(L.LightningModule):
    """Representation learning for a real target ``y``, evaluated by a probe on the backbone ``f``.

    ``objective``:

    - ``supremix``: :class:`~contrastkit.losses.supremix.SupReMix` on two augmented views (Wu et al. 2023);
    - ``supcon``: :class:`~contrastkit.losses.InfoNCE` with ``labels = bin_targets(y, num_bins)``;
    - ``l1``: direct regression ``|w^T f(x) + b - y|`` (one view).
    """

    def __init__(self, encoder: nn.Module, projector: nn.Module, feature_dim: int,
                 augment: Callable[[Tensor], Tensor] | None, images: Tensor, targets: Tensor, *,
                 objective: str = "supremix", loss_kwargs: dict[str, Any] | None = None, num_bins: int = 10,
                 batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective: unknown option {objective!r}; expected one of {OBJECTIVES}")
        self.encoder, self.projector, self.augment = encoder, projector, augment
        self.head = nn.Linear(feature_dim, 1) if objective == "l1" else None
        kwargs = dict(loss_kwargs or {})
        if objective == "supremix":
            self.loss_fn: nn.Module = SupReMix(**kwargs)
        elif objective == "supcon":
            self.loss_fn = InfoNCE(kwargs.get("temperature", 0.1))
        self.objective, self.num_bins = objective, num_bins
        self.register_buffer("images", images, persistent=False)
        self.register_buffer("targets", targets.float(), persistent=False)
        self.batch_size, self.lr, self.seed = batch_size, lr, seed

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        index = batch_rows(step, len(self.images), self.batch_size, self.seed).to(self.images.device)
        torch.manual_seed(self.seed * 1_000_003 + step * 1009)
        x, y = self.images[index], self.targets[index]
        aug = self.augment if self.augment is not None else (lambda v: v)
        if self.objective == "l1":
            loss = F.l1_loss(self.head(self.encoder(aug(x))).squeeze(1), y)
        else:
            z1, z2 = self.projector(self.encoder(torch.cat([aug(x), aug(x)]))).chunk(2)
            if self.objective == "supremix":
                loss = self.loss_fn(z1, z2, labels=y)
            else:
                loss = self.loss_fn(z1, z2, labels=bin_targets(y, self.num_bins))
        self.log("train_loss", loss, on_step=True, on_epoch=False, batch_size=len(index))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


__all__ = ["OBJECTIVES", "ContrastiveRegression", "bin_targets"]
