"""Contrastive regression training: SupReMix, SupCon on binned targets, and direct L1 regression."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.infonce import InfoNCE
from contrastkit.losses.supremix import SupReMix
from contrastkit.training.base import EncoderStepModule, source_field
from contrastkit.training.sources import InMemorySource

OBJECTIVES = ("supremix", "supcon", "l1")


def bin_targets(y: Tensor, num_bins: int, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Equal-width bins of ``[low, high]`` as class ids (SupCon's labels for a regression target)."""
    return ((y - low) / (high - low) * num_bins).floor().clamp(0, num_bins - 1).long()


class ContrastiveRegression(EncoderStepModule):
    """Representation learning for a real target ``y``, evaluated by a probe on the backbone ``f``.

    ``objective``:

    - ``supremix``: :class:`~contrastkit.losses.supremix.SupReMix` on two augmented views (Wu et al. 2023);
    - ``supcon``: :class:`~contrastkit.losses.InfoNCE` with ``labels = bin_targets(y, num_bins)``;
    - ``l1``: direct regression ``|w^T f(x) + b - y|`` (one view).

    Under DDP the embeddings (or predictions) and targets are gathered (autograd) and the loss is computed
    on the global batch, with its randomness seeded identically on every rank.
    """

    def __init__(self, encoder: nn.Module, projector: nn.Module, feature_dim: int,
                 augment: Callable[[Tensor], Tensor] | None, images: Tensor, targets: Tensor, *,
                 objective: str = "supremix", loss_kwargs: dict[str, Any] | None = None, num_bins: int = 10,
                 batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> None:
        super().__init__(InMemorySource(images=images, targets=targets.float()), batch_size=batch_size, lr=lr,
                         seed=seed, optimizer="adam")
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

    images = source_field("images")
    targets = source_field("targets")

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        x, y = batch["images"], batch["targets"]
        aug = self.augment if self.augment is not None else (lambda v: v)
        distributed = self.world_size > 1
        if self.objective == "l1":
            pred = self.head(self.encoder(aug(x))).squeeze(1)
            if distributed:
                pred, y = self.gather(pred), self.gather(y, grad=False)
            return {"loss": F.l1_loss(pred, y)}
        z1, z2 = self.projector(self.encoder(torch.cat([aug(x), aug(x)]))).chunk(2)
        if distributed:
            z1, z2, y = self.gather(z1), self.gather(z2), self.gather(y, grad=False)
            self.shared_seed(step)
        if self.objective == "supremix":
            return {"loss": self.loss_fn(z1, z2, labels=y)}
        return {"loss": self.loss_fn(z1, z2, labels=bin_targets(y, self.num_bins))}


__all__ = ["OBJECTIVES", "ContrastiveRegression", "bin_targets"]
