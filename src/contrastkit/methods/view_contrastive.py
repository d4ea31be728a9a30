"""Multi-view contrastive training (SimCLR, SupCon, and any view-based loss) as a Lightning module.

The module owns the encoder, the projection head and the augmentation; the loss is a part
(``contrastkit.losses``) and never owns a model. With in-memory data the batches are row indices
(see :class:`contrastkit.training.StepModule`), so the batch and its augmentation at global step ``t``
depend only on ``(seed, t)``: a resumed run replays exactly. Built from an encoder alone
(``SimCLR(encoder=net, loss=InfoNCE(0.2))``), the module gets its data from :func:`contrastkit.fit`:
in memory, or the batches of a ``DataLoader`` as they come.
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
from contrastkit.training.sources import BatchSource, InMemorySource, LoaderSource


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


class _Unbound:
    """The source of a method built from an encoder alone, until :func:`contrastkit.fit` binds its data."""

    indexed = True

    def __len__(self) -> int:
        return 0

    def loader(self, max_steps: int) -> Any:
        raise ValueError("data: this method was built without data; train it with contrastkit.fit(method, data=...)")


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


class ViewContrastive(StepModule):
    """Contrastive learning on ``n_views`` augmented views of each sample.

    ``loss(z_1, z_2[, labels=y])`` for two-view losses (NT-Xent, DCL, DCLW, SupCon, ...) or
    ``loss(stack(z_1..z_M))`` for multi-view losses (CACR).

    Args:
        model: encoder + projection head; or instead
        encoder: any ``nn.Module`` mapping ``(B, ...)`` inputs to ``(B, d)`` features, with
            ``projector`` (default ``ProjectionHead(d, 128, 64)``, sized when the data is bound).
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
        optimizer: str = "adamw",
        **schedule: Any,
    ) -> None:
        if n_views < 2:
            raise ValueError(f"n_views: expected at least 2 views, got {n_views}")
        if (model is None) == (encoder is None):
            raise ValueError("encoder: give exactly one of model= (an EncoderWithHead) or encoder= (any nn.Module; "
                             "a projection head is added unless projector= is given)")
        if encoder is not None and not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder: expected an nn.Module, got {type(encoder).__name__}")
        if loss is None or not callable(loss):
            raise TypeError(f"loss: expected a contrastkit loss, e.g. contrastkit.losses.InfoNCE(0.2), "
                            f"got {type(loss).__name__}")
        source: Any = _Unbound() if images is None else InMemorySource(images=images, labels=labels)
        super().__init__(source, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                         optimizer=optimizer, **schedule)
        # encoder= without projector=: the head is sized from the encoder's output when the data is bound
        self.model = model if model is not None else (
            EncoderWithHead(encoder, projector) if projector is not None else None)
        self._encoder_only = encoder if model is None and projector is None else None
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
        if self.model is None:
            raise ValueError("model: not built yet; train the method with contrastkit.fit(method, data=...)")
        return self.model.encoder(x)

    @property
    def images(self) -> Tensor | None:
        """The in-memory training images, or ``None`` (a loader feeds the steps, or no data yet)."""
        return self.data.images if isinstance(self.data, InMemorySource) else None

    @property
    def labels(self) -> Tensor | None:
        return self.data.labels if isinstance(self.data, InMemorySource) else None

    # ------------------------------------------------------------------ data given later (contrastkit.fit)
    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor,
             loader: Any = None) -> None:
        """Attach the training data chosen by :func:`contrastkit.fit`: in-memory ``images`` / ``labels``
        (rows picked by step), or a ``loader`` whose batches (``x`` or ``(x, y, ...)``) are used as they come.

        ``sample``: a few inputs ``(k, ...)``; they size a missing projection head
        (``ProjectionHead(d, 128, 64)`` on the encoder's ``d`` features) and a subclass's buffers.
        """
        source: BatchSource = InMemorySource(images=images, labels=labels) if images is not None \
            else LoaderSource(loader)
        if isinstance(source, nn.Module):
            self.source = source
        else:
            if "source" in self._modules:
                del self._modules["source"]
            self._source = source
        if self.model is None:
            from contrastkit.vision.encoders import ProjectionHead

            encoder = self._encoder_only
            with torch.no_grad():
                was_training = encoder.training
                encoder.eval()
                try:
                    features = encoder(sample[:2])
                except (RuntimeError, ValueError, TypeError) as err:
                    first = " ".join(str(err).split())[:200]
                    raise ValueError(f"data: the encoder cannot take samples of shape {tuple(sample.shape[1:])} "
                                     f"({first})") from None
                finally:
                    encoder.train(was_training)
            if not isinstance(features, Tensor) or features.dim() != 2:
                shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
                raise ValueError(f"encoder: expected (batch, features) outputs, got {shape}; end it with a "
                                 "pooling / flatten layer or pass projector=")
            self.model = EncoderWithHead(encoder, ProjectionHead(int(features.shape[1])))
            self._encoder_only = None

    def step_batch(self, step: int, batch: Any = None) -> dict[str, Tensor]:
        """The step's rows (in memory) or the loader's batch, as ``{"images": x[, "labels": y]}``."""
        data = super().step_batch(step, batch)
        if isinstance(data, dict):
            return data
        x, y = loader_pair(data)
        return {"images": x} if y is None else {"images": x, "labels": y}

    def views(self, x: Tensor, step: int) -> list[Tensor]:
        # Reseeding per step (not once per run) is what makes a resumed run replay exactly; with gradient
        # accumulation every micro-batch gets its own augmentation stream.
        self.reseed(getattr(self, "current_micro_step", step) if self.accumulate_grad_batches > 1 else step)
        return [self.augment(x) for _ in range(self.n_views)]

    def contrastive_loss(self, z: list[Tensor], labels: Tensor | None) -> Tensor:
        if isinstance(self.loss_fn, CACR) or self.n_views > 2:
            return self.loss_fn(torch.stack(z))
        if self.use_labels and labels is None:
            raise ValueError(f"labels: {type(self).__name__} needs a label per sample; pass labels= or data "
                             "yielding (x, y) pairs")
        kwargs: dict[str, Any] = {"labels": labels} if self.use_labels else {}
        return self.loss_fn(z[0], z[1], **kwargs)

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        views = self.views(batch["images"], step)
        _, z = self.model(torch.cat(views))
        return {"loss": self.contrastive_loss(list(z.chunk(self.n_views)), batch.get("labels"))}

    def log_terms(self, terms: dict[str, Tensor], batch_size: int, **kwargs: Any) -> None:
        super().log_terms(terms, batch_size, prog_bar=True, **kwargs)

    def trainable_parameters(self) -> list[nn.Parameter]:
        if self.model is None:
            raise ValueError("data: this method was built from an encoder alone; train it with "
                             "contrastkit.fit(method, data=...), which sizes its projection head")
        return list(self.model.parameters())  # the loss and a momentum copy are not optimised

    # ------------------------------------------------------------------ sharing
    def save_pretrained(self, path: Any, *, metadata: dict[str, Any] | None = None) -> Any:
        """Write the trained encoder + head to the folder ``path`` (:func:`contrastkit.save_pretrained`)."""
        from contrastkit.pretrained import save_pretrained

        return save_pretrained(self, path, metadata=metadata)

    def encode(self, x: Any, **kwargs: Any) -> Tensor:
        """Encoder features ``(n, d)`` of ``x`` (:func:`contrastkit.encode`; the head is not applied)."""
        from contrastkit.pretrained import encode

        return encode(self.model, x, **kwargs)


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
