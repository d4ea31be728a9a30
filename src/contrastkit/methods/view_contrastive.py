"""Multi-view contrastive training (SimCLR, SupCon, and any view-based loss) as a Lightning module.

The module owns the encoder, the projection head and the augmentation; the loss is a part
(``contrastkit.losses``) and never owns a model. Batches arrive as row indices into an in-memory
dataset (see :class:`contrastkit.pipeline.data.StepBatches`), so the batch and its augmentation at
global step ``t`` depend only on ``(seed, t)``: a resumed run replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn

from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.cacr import CACR
from contrastkit.methods.batching import batch_rows


class EncoderWithHead(nn.Module):
    """Backbone ``f`` followed by a projection head ``g``; ``forward`` returns ``(h, z)``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = projector

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return h, self.projector(h)


class ViewContrastive(L.LightningModule):
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
    ) -> None:
        super().__init__()
        if n_views < 2:
            raise ValueError(f"n_views: expected at least 2 views, got {n_views}")
        self.model = model
        self.loss_fn = loss
        self.augment = augment
        self.register_buffer("images", images, persistent=False)
        self.register_buffer("labels", labels, persistent=False)
        self.n_views = n_views
        self.batch_size = batch_size
        self.use_labels = use_labels
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed

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

    def views(self, x: Tensor, step: int) -> list[Tensor]:
        # Reseeding per step (not once per run) is what makes a resumed run replay exactly.
        torch.manual_seed(self.seed * 1_000_003 + step * 1009 + self.global_rank)
        return [self.augment(x) for _ in range(self.n_views)]

    def contrastive_loss(self, z: list[Tensor], labels: Tensor) -> Tensor:
        if isinstance(self.loss_fn, CACR) or self.n_views > 2:
            return self.loss_fn(torch.stack(z))
        kwargs: dict[str, Any] = {"labels": labels} if self.use_labels else {}
        return self.loss_fn(z[0], z[1], **kwargs)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        index = batch_rows(step, len(self.images), self.batch_size, self.seed,
                           self.global_rank, self.trainer.world_size if self._trainer else 1)
        index = index.to(self.images.device)
        x, y = self.images[index], self.labels[index]
        views = self.views(x, step)
        _, z = self.model(torch.cat(views))
        loss = self.contrastive_loss(list(z.chunk(self.n_views)), y)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(index))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)


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
