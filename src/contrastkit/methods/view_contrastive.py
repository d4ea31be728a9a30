"""Multi-view contrastive training (SimCLR, SupCon, and any view-based loss) as a Lightning module.

The module owns the encoder, the projection head and the augmentation; the loss is a part
(``contrastkit.losses``) and never owns a model. Batches arrive as row indices into an in-memory
dataset (see :class:`contrastkit.training.StepModule`), so the batch and its augmentation at
global step ``t`` depend only on ``(seed, t)``: a resumed run replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn

from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.cacr import CACR
from contrastkit.training.base import StepModule
from contrastkit.training.sources import InMemorySource


class EncoderWithHead(nn.Module):
    """Backbone ``f`` followed by a projection head ``g``; ``forward`` returns ``(h, z)``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = projector

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return h, self.projector(h)


class ViewContrastive(StepModule):
    """Contrastive learning on ``n_views`` augmented views of each sample.

    ``loss(z_1, z_2[, labels=y])`` for two-view losses (NT-Xent, DCL, DCLW, SupCon, ...) or
    ``loss(stack(z_1..z_M))`` for multi-view losses (CACR).

    Args:
        model: encoder + projection head.
        loss: any contrastkit loss.
        augment: batched augmentation ``x -> x'`` applied independently per view.
        images, labels: the in-memory training set (batches are index tensors into it).
        n_views: number of views per sample.
        use_labels: pass ``labels=`` to the loss (SupCon).
        batch_size: global batch size (split across ranks under DDP).
        lr, weight_decay: AdamW settings.
        seed: base seed of the per-step augmentation RNG.
        optimizer, schedule: the optimizer name and the schedule / accumulation keywords of
            :class:`~contrastkit.training.base.StepModule` (``optimizer_momentum``, ``lr_schedule``, ``warmup_steps``,
            ``final_lr_factor``, ``accumulate_grad_batches``).
    """

    def __init__(
        self,
        model: EncoderWithHead,
        loss: ContrastiveLoss,
        augment: Callable[[Tensor], Tensor],
        images: Tensor,
        labels: Tensor,
        *,
        n_views: int = 2,
        use_labels: bool = False,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        optimizer: str = "adamw",
        **schedule: Any,
    ) -> None:
        if n_views < 2:
            raise ValueError(f"n_views: expected at least 2 views, got {n_views}")
        super().__init__(InMemorySource(images=images, labels=labels), batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, seed=seed, optimizer=optimizer, **schedule)
        self.model = model
        self.loss_fn = loss
        self.augment = augment
        self.n_views = n_views
        self.use_labels = use_labels

    def setup(self, stage: str) -> None:
        # Under DDP the negatives must come from every rank, with gradients (functional.distributed).
        if self.trainer.world_size > 1:
            if hasattr(self.loss_fn, "gather_distributed"):
                self.loss_fn.gather_distributed = True
            else:
                rank_zero_warn(f"{type(self.loss_fn).__name__} gathers no negatives across ranks: each rank "
                               "contrasts only its local batch")

    def forward(self, x: Tensor) -> Tensor:
        """Backbone features (what downstream probes use)."""
        return self.model.encoder(x)

    @property
    def images(self) -> Tensor:
        return self.source.images

    @property
    def labels(self) -> Tensor:
        return self.source.labels

    def views(self, x: Tensor, step: int) -> list[Tensor]:
        # Reseeding per step (not once per run) is what makes a resumed run replay exactly.
        self.reseed(step)
        return [self.augment(x) for _ in range(self.n_views)]

    def contrastive_loss(self, z: list[Tensor], labels: Tensor) -> Tensor:
        if isinstance(self.loss_fn, CACR) or self.n_views > 2:
            return self.loss_fn(torch.stack(z))
        kwargs: dict[str, Any] = {"labels": labels} if self.use_labels else {}
        return self.loss_fn(z[0], z[1], **kwargs)

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        views = self.views(batch["images"], step)
        _, z = self.model(torch.cat(views))
        return {"loss": self.contrastive_loss(list(z.chunk(self.n_views)), batch.get("labels"))}

    def log_terms(self, terms: dict[str, Tensor], batch_size: int, **kwargs: Any) -> None:
        super().log_terms(terms, batch_size, prog_bar=True, **kwargs)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())  # the loss and a momentum copy are not optimised


class SimCLR(ViewContrastive):
    """SimCLR (Chen et al., ICML 2020): two augmented views, NT-Xent on projector outputs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("use_labels", False)
        super().__init__(*args, **kwargs)


class SupCon(ViewContrastive):
    """Supervised contrastive learning (Khosla et al., NeurIPS 2020): positives share a label."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["use_labels"] = True
        super().__init__(*args, **kwargs)
