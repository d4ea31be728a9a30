"""The shareable part of a trained CLIP / LiT model: the two towers and the logit scale, no training data."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn


class ImageTextModel(nn.Module):
    """Image tower ``image_head(image_encoder(x))`` and text tower, with CLIP's learnt logit scale.

    Text side: ``text_encoder`` on ``(B, L)`` token ids (CLIP trained from scratch), or, for LiT
    with a locked pretrained text tower, ``text_head`` (or nothing) on ``(B, d_t)`` embeddings of
    that tower (compute them with the same frozen model, e.g. the packaged MiniLM). Built from a
    trained :class:`~contrastkit.methods.CLIP` / ``LiT`` by :meth:`from_clip`, which
    ``save_pretrained`` does for you.
    """

    def __init__(self, image_encoder: nn.Module, image_head: nn.Module, text_encoder: nn.Module | None = None,
                 text_head: nn.Module | None = None, logit_scale: nn.Module | None = None) -> None:
        super().__init__()
        self.image_encoder, self.image_head = image_encoder, image_head
        self.text_encoder, self.text_head = text_encoder, text_head
        self.logit_scale = logit_scale

    @classmethod
    def from_clip(cls, clip: Any) -> ImageTextModel:
        """The towers of a trained ``CLIP`` / ``LiT`` module (weights shared, not copied)."""
        return cls(clip.image_encoder, clip.image_head, clip.text_encoder, clip.text_head, clip.logit_scale)

    def encode_image(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` images to ``(B, embed_dim)`` (not normalised)."""
        return self.image_head(self.image_encoder(x))

    def encode_text(self, text: Tensor) -> Tensor:
        """Token ids ``(B, L)`` (trainable tower) or frozen-tower embeddings ``(B, d_t)`` (LiT) to
        ``(B, embed_dim)``."""
        if self.text_encoder is not None:
            return self.text_encoder(text)
        return self.text_head(text) if self.text_head is not None else text

    def forward(self, x: Tensor) -> Tensor:
        return self.encode_image(x)
