"""Two-tower image-text training: CLIP from scratch, LiT with a locked text tower, CWCL.

Batches are row indices into in-memory pairs (:class:`contrastkit.training.StepModule`), so the
batch and its augmentation at global step ``t`` depend only on ``(seed, t)``, as in
:mod:`contrastkit.methods.view_contrastive`. The loss is a part: symmetric
:class:`~contrastkit.losses.InfoNCE` with the learnable temperature passed per call, or
:class:`~contrastkit.losses.cwcl.CWCL`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from contrastkit.losses.cwcl import CWCL
from contrastkit.losses.infonce import InfoNCE
from contrastkit.training.base import StepModule, source_field
from contrastkit.training.sources import InMemorySource, LoaderSource, UnboundSource

LOSSES = ("clip", "cwcl")


def label_smoothing_weights(n: int, epsilon: float, *, device: torch.device | None = None) -> Tensor:
    """Soft positives ``(1 - epsilon) I + epsilon / n``: with them InfoNCE's cross-entropy equals
    ``F.cross_entropy(logits, arange(n), label_smoothing=epsilon)`` (Szegedy et al., CVPR 2016),
    the label-smoothed CLIP loss of Fini et al. (TMLR 2023)."""
    if not 0 <= epsilon < 1:
        raise ValueError(f"epsilon: expected a number in [0, 1), got {epsilon!r}")
    return torch.full((n, n), epsilon / n, device=device) + (1 - epsilon) * torch.eye(n, device=device)


class LogitScale(nn.Module):
    """CLIP's learnable temperature (Radford et al., ICML 2021): ``s = exp(t)`` with ``t`` learned,
    initialised at ``1 / init_temperature`` and capped at ``max_scale`` (100 in CLIP) so that
    training cannot make the softmax arbitrarily sharp. ``temperature() = 1 / s``.

    The cap clamps the *parameter* ``t`` to ``ln max_scale`` (in place, without gradient), as
    open_clip does after every optimiser step, and not the output ``exp(t)``: an output clamp has a
    zero gradient above the cap, so one step past it would freeze the temperature there for good.
    Here ``s = exp(t)`` always has the gradient ``s``, so the scale can come back down.
    """

    def __init__(self, init_temperature: float = 0.07, max_scale: float = 100.0, *, learnable: bool = True) -> None:
        super().__init__()
        if not init_temperature > 0:
            raise ValueError(f"init_temperature: expected a number > 0, got {init_temperature!r}")
        if not max_scale >= 1 / init_temperature:
            raise ValueError(f"max_scale: expected >= 1 / init_temperature, got {max_scale!r}")
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / init_temperature)), requires_grad=learnable)
        self.max_scale = float(max_scale)

    def clamp_(self) -> LogitScale:
        """Clamp ``log_scale`` to ``ln max_scale`` in place (a no-op below the cap)."""
        with torch.no_grad():
            self.log_scale.clamp_(max=math.log(self.max_scale))
        return self

    def scale(self) -> Tensor:
        """``s = exp(t)`` after clamping ``t`` to the cap; differentiable in ``t`` everywhere."""
        # exp's backward uses its output, not ``t``, so the in-place clamp cannot invalidate a
        # graph built by an earlier call in the same step.
        self.clamp_()
        return self.log_scale.exp()

    def temperature(self) -> Tensor:
        return 1 / self.scale()


class CLIP(StepModule):
    """CLIP (Radford et al., ICML 2021): symmetric InfoNCE between image and text embeddings,
    ``L = ½ [CE(s I T^T, diag) + CE(s T I^T, diag)]`` with ``I``, ``T`` L2-normalised and a learnable
    logit scale ``s`` (:class:`LogitScale`).

    Text side, one of:

    - trainable (CLIP from scratch): ``caption_tokens`` ``(C, L)`` token ids of the distinct captions and
      a ``text_encoder`` (e.g. :class:`contrastkit.multimodal.BagOfWordsEncoder`) mapping them to
      ``embed_dim``;
    - locked (LiT, Zhai et al., CVPR 2022, here with the text tower locked): ``frozen_text`` ``(C, d_t)``
      cached embeddings of a pretrained tower, optionally followed by a trainable ``text_head``.

    Image side: ``image_encoder`` (features of size ``image_feature_dim``) and a linear head to
    ``embed_dim``. ``loss="cwcl"`` trains with :class:`~contrastkit.losses.cwcl.CWCL` (targets from the
    frozen text embeddings; needs ``frozen_text``). ``image_augment`` / ``text_augment`` (token ids) and
    ``label_smoothing`` are the recipe knobs of Fini et al. (TMLR 2023).

    Data, one of:

    - in memory: ``images`` ``(n, C, H, W)`` and ``caption_ids`` ``(n,)`` (the caption row of each image in
      ``caption_tokens`` / ``frozen_text``); the rows of step ``t`` depend only on ``(seed, t, rank)``;
    - a ``DataLoader`` (``data=`` here, or later ``contrastkit.fit(model, data=loader)``) yielding
      ``(images (B, C, H, W), text)`` batches, ``text`` being token ids ``(B, L)`` for a trainable tower or
      embeddings ``(B, text_dim)`` of a frozen tower for LiT (then give ``text_dim`` instead of
      ``frozen_text``). With ``loss="cwcl"`` the batch's frozen embeddings are CWCL's targets.

    Args:
        images: ``(n, C, H, W)`` training images; ``caption_ids``: ``(n,)`` row of each image's caption.
        data: a ``DataLoader`` of ``(images, text)`` batches instead of ``images`` / ``caption_ids``.
        text_dim: width ``d_t`` of the frozen-tower embeddings a loader yields (locked tower, no ``frozen_text``).

    Raises:
        ValueError / TypeError: naming the argument (both or neither text towers, a loader batch that is not an
        ``(images, text)`` pair, ``caption_ids`` of another length, ...).
    """

    def __init__(
        self,
        image_encoder: nn.Module,
        images: Tensor | None = None,
        caption_ids: Tensor | None = None,
        *,
        image_feature_dim: int,
        data: DataLoader | None = None,
        text_dim: int | None = None,
        embed_dim: int = 64,
        text_encoder: nn.Module | None = None,
        caption_tokens: Tensor | None = None,
        frozen_text: Tensor | None = None,
        text_head: bool = False,
        loss: str = "clip",
        cwcl_kwargs: dict[str, Any] | None = None,
        image_augment: Callable[[Tensor], Tensor] | None = None,
        text_augment: Callable[[Tensor], Tensor] | None = None,
        label_smoothing: float = 0.0,
        init_temperature: float = 0.07,
        max_logit_scale: float = 100.0,
        learn_temperature: bool = True,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
    ) -> None:
        in_memory = images is not None or caption_ids is not None
        if data is not None and in_memory:
            raise ValueError("data: give a DataLoader of (images, text) batches or images + caption_ids, not both")
        if data is not None and not isinstance(data, DataLoader):
            raise TypeError(f"data: expected a DataLoader of (images, text) batches, got {type(data).__name__}")
        locked = frozen_text is not None or (not in_memory and text_dim is not None)
        if locked == (text_encoder is not None):
            raise ValueError("text_encoder, frozen_text: give exactly one (a trainable tower, or a frozen tower's "
                             "embeddings: frozen_text in memory, text_dim with a DataLoader)")
        if in_memory and text_encoder is not None and caption_tokens is None:
            raise ValueError("caption_tokens: a trainable text tower needs the (C, L) token ids of the captions")
        if text_dim is not None and (isinstance(text_dim, bool) or not isinstance(text_dim, int) or text_dim < 1):
            raise ValueError(f"text_dim: expected an integer >= 1, got {text_dim!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss: unknown option {loss!r}; expected one of {LOSSES}")
        if loss == "cwcl" and not locked:
            raise ValueError("loss: 'cwcl' takes its targets from a frozen text tower; pass frozen_text (or text_dim "
                             "with a DataLoader of frozen embeddings)")
        if in_memory:
            if images is None or caption_ids is None:
                raise ValueError("images, caption_ids: in-memory pairs need both (or pass data=DataLoader)")
            if caption_ids.shape != (images.shape[0],):
                raise ValueError(f"caption_ids: expected shape ({images.shape[0]},), got {tuple(caption_ids.shape)}")
            source: Any = InMemorySource(images=images, caption_ids=caption_ids.long())
        else:
            source = LoaderSource(data) if data is not None else UnboundSource(type(self).__name__)
        super().__init__(source, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                         optimizer="adamw")
        self.image_encoder = image_encoder
        self.image_head = nn.Linear(image_feature_dim, embed_dim)
        self.text_encoder = text_encoder
        self.register_buffer("caption_tokens", caption_tokens, persistent=False)
        self.register_buffer("frozen_text", None if frozen_text is None else frozen_text.float(), persistent=False)
        width = frozen_text.shape[1] if frozen_text is not None else text_dim
        if locked and not text_head and width != embed_dim:
            raise ValueError(f"embed_dim: a locked tower without text_head needs embed_dim = {width}")
        self.text_head = nn.Linear(width, embed_dim) if (locked and text_head) else None
        self.locked_text = locked
        self.logit_scale = LogitScale(init_temperature, max_logit_scale, learnable=learn_temperature)
        self.loss_name = loss
        self.clip_loss = InfoNCE(init_temperature, mode="symmetric")
        self.cwcl_loss = CWCL(init_temperature, **(cwcl_kwargs or {})) if loss == "cwcl" else None
        self.image_augment = image_augment
        self.text_augment = text_augment
        self.label_smoothing = float(label_smoothing)

    # ------------------------------------------------------------------ encoders
    def image_features(self, x: Tensor) -> Tensor:
        """Backbone features (what linear probes use)."""
        return self.image_encoder(x)

    def encode_image(self, x: Tensor) -> Tensor:
        return self.image_head(self.image_encoder(x))

    def encode_tokens(self, tokens: Tensor) -> Tensor:
        if self.text_encoder is None:
            raise ValueError("tokens: this model has a locked text tower; use encode_captions")
        return self.text_encoder(tokens)

    def encode_captions(self, ids: Tensor) -> Tensor:
        """Text embeddings of caption rows ``ids`` (no augmentation)."""
        if self.frozen_text is not None:
            t = self.frozen_text[ids]
            return self.text_head(t) if self.text_head is not None else t
        return self.encode_tokens(self.caption_tokens[ids])

    # ------------------------------------------------------------------ training
    images = source_field("images")
    caption_ids = source_field("caption_ids")

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        """This rank's ``(images, caption_ids)`` of ``step`` (the RNG reseeded for the step's augmentation)."""
        b = self.step_batch(step)
        return b["images"], b["caption_ids"]

    def text_view(self, ids: Tensor, augment: bool) -> Tensor:
        if augment and self.text_augment is not None and self.frozen_text is None:
            return self.encode_tokens(self.text_augment(self.caption_tokens[ids]))
        return self.encode_captions(ids)

    def pair_loss(self, img: Tensor, txt: Tensor, ids: Tensor, *, smoothing: float | None = None,
                  temperature: Tensor | None = None) -> Tensor:
        """The image-text loss of one pair of embedding batches."""
        tau = self.logit_scale.temperature() if temperature is None else temperature
        if self.cwcl_loss is not None:
            return self.cwcl_loss(txt, img, frozen=self.frozen_text[ids], temperature=tau)
        eps = self.label_smoothing if smoothing is None else smoothing
        weights = label_smoothing_weights(img.shape[0], eps, device=img.device) if eps > 0 else None
        return self.clip_loss(img, txt, weights=weights, temperature=tau)

    def training_loss(self, x: Tensor, ids: Tensor) -> dict[str, Tensor]:
        """Loss terms of one batch (``loss`` is the total); subclasses add terms."""
        xv = self.image_augment(x) if self.image_augment is not None else x
        img = self.encode_image(xv)
        txt = self.text_view(ids, augment=True)
        return {"loss": self.pair_loss(img, txt, ids)}

    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """Train from ``loader`` (``contrastkit.fit(model, data=loader)``): its ``(images, text)`` batches."""
        name = type(self).__name__
        if isinstance(self.data, InMemorySource):
            raise TypeError(f"data: {name} holds its own training data (the image-caption pairs it was built with); "
                            "call fit(model) without data=")
        if loader is None:
            raise TypeError(f"data: {name} holds its own training data or takes a DataLoader of (images, text) "
                            "batches, not a tensor of samples")
        self._source = LoaderSource(loader)

    def loader_pair(self, batch: Any) -> tuple[Tensor, Tensor]:
        """``(images, text)`` of a loader batch, checked."""
        if not isinstance(batch, (tuple, list)) or len(batch) < 2 or not all(isinstance(b, Tensor) for b in batch[:2]):
            raise ValueError(f"data: expected (images, text) tensor batches, got {type(batch).__name__}")
        x, text = batch[0], batch[1]
        if text.shape[0] != x.shape[0]:
            raise ValueError(f"data: {x.shape[0]} images but {text.shape[0]} texts in a batch")
        if self.locked_text and (not text.is_floating_point() or text.dim() != 2):
            raise ValueError(f"data: a locked text tower expects frozen embeddings (B, d_t), got {text.dtype} "
                             f"{tuple(text.shape)}")
        if not self.locked_text and text.is_floating_point():
            raise ValueError("data: a trainable text tower expects token ids (B, L), got floating-point texts")
        return x, text

    def loader_loss(self, x: Tensor, text: Tensor) -> dict[str, Tensor]:
        """Loss terms of one loader batch (text given per batch instead of caption rows)."""
        img = self.encode_image(self.image_augment(x) if self.image_augment is not None else x)
        tau = self.logit_scale.temperature()
        if self.locked_text:
            frozen = text.float()
            txt = self.text_head(frozen) if self.text_head is not None else frozen
            if self.cwcl_loss is not None:
                return {"loss": self.cwcl_loss(txt, img, frozen=frozen, temperature=tau)}
        else:
            txt = self.encode_tokens(self.text_augment(text) if self.text_augment is not None else text)
        eps = self.label_smoothing
        weights = label_smoothing_weights(img.shape[0], eps, device=img.device) if eps > 0 else None
        return {"loss": self.clip_loss(img, txt, weights=weights, temperature=tau)}

    def loss_terms(self, batch: Any, step: int) -> dict[str, Tensor]:
        if not self.data.indexed:
            return self.loader_loss(*self.loader_pair(batch))
        return self.training_loss(batch["images"], batch["caption_ids"])


class LiT(CLIP):
    """Locked-tower tuning (Zhai et al., CVPR 2022, "LiT: Zero-Shot Transfer with Locked-image text
    Tuning") with the *text* tower locked: the image tower learns to land in the space of cached
    embeddings of a frozen pretrained sentence encoder (all-MiniLM-L6-v2); same symmetric InfoNCE."""

    def __init__(self, *args: Any, frozen_text: Tensor, **kwargs: Any) -> None:
        super().__init__(*args, frozen_text=frozen_text, **kwargs)


__all__ = ["CLIP", "LOSSES", "LiT", "LogitScale", "label_smoothing_weights"]
