"""Multi-view contrastive training (SimCLR, SupCon, and any view-based loss) as a Lightning module.

The module owns the encoder, the projection head and the augmentation; the loss is a part
(``contrastkit.losses``) and never owns a model. With in-memory data the rows of global step ``t``
come from :func:`contrastkit.training.steps.batch_rows`, so the batch and its augmentation depend only
on ``(seed, t)``: a resumed run replays exactly. Built from an encoder alone
(``SimCLR(encoder=net, loss=InfoNCE(0.2))``), the module gets its data from :func:`contrastkit.fit`,
in memory or as the batches of a ``DataLoader``.
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


def loader_pair(batch: Any) -> tuple[Tensor, Tensor | None]:
    """A loader batch as ``(x, y)``: a tensor is ``x`` alone; a tuple / list is ``(x, y, ...)``."""
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        y = batch[1] if len(batch) > 1 else None
        if y is not None and not isinstance(y, Tensor):
            raise TypeError(f"data: expected batches x or (x, y) of tensors, got a label batch of {type(y).__name__}")
        return batch[0], y
    raise TypeError(f"data: expected batches x or (x, y) of tensors, got {type(batch).__name__}")


class EncoderWithHead(nn.Module):
    """Backbone ``f`` followed by a projection head ``g``; ``forward`` returns ``(h, z)``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = projector

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return h, self.projector(h)

    def encode(self, x: Any, **kwargs: Any) -> Tensor:
        """Encoder features ``(n, d)`` of ``x`` in batches (:func:`contrastkit.encode`)."""
        from contrastkit.pretrained import encode

        return encode(self, x, **kwargs)


class ViewContrastive(L.LightningModule):
    """Contrastive learning on ``n_views`` augmented views of each sample.

    ``loss(z_1, z_2[, labels=y])`` for two-view losses (NT-Xent, DCL, DCLW, SupCon, ...) or
    ``loss(stack(z_1..z_M))`` for multi-view losses (CACR).

    Args:
        model: encoder + projection head; or instead
        encoder: any ``nn.Module`` mapping ``(B, ...)`` inputs to ``(B, d)`` features, with
            ``projector`` (default: ``ProjectionHead(d, 128, 64)``, sized when the data is bound).
        loss: any contrastkit loss.
        augment: batched augmentation ``x -> x'`` applied independently per view.
        images, labels: the in-memory training set (batches are index tensors into it); ``labels``
            may be ``None`` for methods that do not use them. Both ``None``: :func:`contrastkit.fit`
            binds the data (:meth:`bind`).
        n_views: number of views per sample.
        use_labels: pass ``labels=`` to the loss (SupCon).
        batch_size: global batch size (split across ranks under DDP).
        lr, weight_decay: AdamW settings.
        seed: base seed of the per-step augmentation RNG.
    """

    def __init__(
        self,
        model: EncoderWithHead | None = None,
        loss: ContrastiveLoss | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
        images: Tensor | None = None,
        labels: Tensor | None = None,
        *,
        encoder: nn.Module | None = None,
        projector: nn.Module | None = None,
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
        if (model is None) == (encoder is None):
            raise ValueError("encoder: give exactly one of model= (an EncoderWithHead) or encoder= (any nn.Module; "
                             "a projection head is added unless projector= is given)")
        if encoder is not None and not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder: expected an nn.Module, got {type(encoder).__name__}")
        if loss is None:
            raise ValueError("loss: expected a contrastkit loss, e.g. contrastkit.losses.InfoNCE(0.2)")
        if not callable(loss):
            raise TypeError(f"loss: expected a contrastkit loss, got {type(loss).__name__}")
        # encoder= without projector=: the head is sized from the encoder's output at bind time
        self.model = model if model is not None else (
            EncoderWithHead(encoder, projector) if projector is not None else None)
        self._encoder_only = encoder if model is None and projector is None else None
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

    # ------------------------------------------------------------------ data given later (contrastkit.fit)
    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor) -> None:
        """Attach the training data chosen by :func:`contrastkit.fit`.

        ``images``/``labels``: in-memory rows (``None`` when a loader feeds the steps); ``sample``: a
        few inputs ``(k, ...)``, used to size a missing projection head (``ProjectionHead(d, 128, 64)``
        on the encoder's ``d`` features) and by subclasses that size buffers.
        """
        self.images, self.labels = images, labels
        if self.model is None:
            from contrastkit.vision.encoders import ProjectionHead

            with torch.no_grad():
                was_training = self._encoder_only.training
                self._encoder_only.eval()
                features = self._encoder_only(sample[:2])
                self._encoder_only.train(was_training)
            if not isinstance(features, Tensor) or features.dim() != 2:
                shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
                raise ValueError(f"encoder: expected (batch, features) outputs, got {shape}; end it with a "
                                 "pooling/flatten layer or pass projector=")
            self.model = EncoderWithHead(self._encoder_only, ProjectionHead(int(features.shape[1])))
            self._encoder_only = None

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
        if self.model is None:
            raise ValueError("model: not built yet; train it with contrastkit.fit(method, data=...) first")
        return self.model.encoder(x)

    def views(self, x: Tensor, step: int) -> list[Tensor]:
        # Reseeding per step (not once per run) is what makes a resumed run replay exactly.
        torch.manual_seed(self.seed * 1_000_003 + step * 1009 + self.global_rank)
        return [self.augment(x) for _ in range(self.n_views)]

    def contrastive_loss(self, z: list[Tensor], labels: Tensor | None) -> Tensor:
        if isinstance(self.loss_fn, CACR) or self.n_views > 2:
            return self.loss_fn(torch.stack(z))
        if self.use_labels and labels is None:
            raise ValueError(f"labels: {type(self).__name__} needs a label per sample; pass labels= or data "
                             "yielding (x, y) pairs")
        kwargs: dict[str, Any] = {"labels": labels} if self.use_labels else {}
        return self.loss_fn(z[0], z[1], **kwargs)

    def step_inputs(self, batch: Any, step: int) -> tuple[Tensor, Tensor | None]:
        """``(x, y)`` of ``step``: the step's rows of the in-memory data (``y`` ``None`` without labels),
        or the loader's batch as it comes (a tensor ``x`` or a pair ``(x, y, ...)``)."""
        if self.images is None:
            return loader_pair(batch)
        index = batch_rows(step, len(self.images), self.batch_size, self.seed,
                           self.global_rank, self.trainer.world_size if self._trainer else 1)
        index = index.to(self.images.device)
        return self.images[index], None if self.labels is None else self.labels[index]

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        x, y = self.step_inputs(batch, step)
        views = self.views(x, step)
        _, z = self.model(torch.cat(views))
        loss = self.contrastive_loss(list(z.chunk(self.n_views)), y)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(x))
        return loss

    # ------------------------------------------------------------------ sharing
    def save_pretrained(self, path: Any, *, metadata: dict[str, Any] | None = None) -> Any:
        """Write the trained encoder + head to the folder ``path`` (:func:`contrastkit.save_pretrained`)."""
        from contrastkit.pretrained import save_pretrained

        return save_pretrained(self, path, metadata=metadata)

    def encode(self, x: Any, **kwargs: Any) -> Tensor:
        """Encoder features ``(n, d)`` of ``x`` (:func:`contrastkit.encode`; the head is not applied)."""
        from contrastkit.pretrained import encode

        return encode(self.model, x, **kwargs)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.model is None:
            raise ValueError("data: this method was built from an encoder alone; train it with "
                             "contrastkit.fit(method, data=...), which sizes its projection head")
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
