"""CleanCLIP (Bansal et al., ICCV 2023): multimodal + unimodal self-supervised fine-tuning.

``L = l1 * L_CLIP + l2 * L_SS`` with one logit scale ``s`` (official ``nishadsinghi/CleanCLIP``
``src/train.py:get_loss``):

- ``L_CLIP = 1/2 [CE(s I T^T, diag) + CE(s T I^T, diag)]`` (symmetric InfoNCE, CLIP);
- ``L_SS = 1/2 [CE(s I I~^T, diag) + CE(s T T~^T, diag)]``, each in-modal term one-directional
  (original -> augmented view) as in the code,

``I, T, I~, T~`` the L2-normalised embeddings of the images, captions and their augmented views.
Both terms are :class:`contrastkit.losses.InfoNCE` at temperature ``1 / s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from contrastkit._validation import check_non_negative_float
from contrastkit.losses.infonce import InfoNCE
from contrastkit.papers.clip.module import CLIP

_SYMMETRIC = InfoNCE(1.0, mode="symmetric")
_ONE_WAY = InfoNCE(1.0, mode="a_to_b")


def cleanclip_terms(image: Tensor, text: Tensor, image_aug: Tensor | None, text_aug: Tensor | None, *,
                    logit_scale: Tensor | float, clip_weight: float = 1.0,
                    inmodal_weight: float = 1.0) -> dict[str, Tensor]:
    """CleanCLIP's objective and its terms.

    Args:
        image, text: ``(B, d)`` paired embeddings (normalised inside).
        image_aug, text_aug: ``(B, d)`` embeddings of the augmented image / caption of the same rows;
            may be ``None`` when ``inmodal_weight == 0``.
        logit_scale: ``s = 1 / temperature`` shared by every term (a tensor keeps its gradient).
        clip_weight, inmodal_weight: ``l1``, ``l2`` (``--clip_weight``, ``--inmodal_weight``; 1 and 1).

    Returns:
        ``{"loss": l1 L_CLIP + l2 L_SS, "clip": L_CLIP, "inmodal": L_SS}`` (``inmodal`` is 0 when off).
    """
    l1 = check_non_negative_float(clip_weight, "clip_weight")
    l2 = check_non_negative_float(inmodal_weight, "inmodal_weight")
    tau = 1 / logit_scale
    clip = _SYMMETRIC(image, text, temperature=tau)
    if l2 > 0:
        if image_aug is None or text_aug is None:
            raise ValueError("image_aug, text_aug: the in-modal term (inmodal_weight > 0) needs both views")
        inmodal = 0.5 * (_ONE_WAY(image, image_aug, temperature=tau) + _ONE_WAY(text, text_aug, temperature=tau))
    else:
        inmodal = clip.new_zeros(())
    return {"loss": l1 * clip + l2 * inmodal, "clip": clip.detach(), "inmodal": inmodal.detach()}


class CleanCLIP(CLIP):
    """A two-tower model fine-tuned with :func:`cleanclip_terms` (trainable text tower on token ids).

    The CLIP term sees the clean images and captions unaugmented; the in-modal term compares each
    with ``inmodal_augment(image)`` and ``text_augment(tokens)`` (CleanCLIP: AutoAugment and EDA).
    ``inmodal_weight=0`` is plain CLIP fine-tuning on the same data (the paper's baseline).
    """

    def __init__(self, *args: Any, clip_weight: float = 1.0, inmodal_weight: float = 1.0,
                 inmodal_augment: Callable[[Tensor], Tensor] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.text_encoder is None:
            raise ValueError("text_encoder: CleanCLIP here fine-tunes a trainable text tower on token ids")
        self.clip_weight = check_non_negative_float(clip_weight, "clip_weight")
        self.inmodal_weight = check_non_negative_float(inmodal_weight, "inmodal_weight")
        if self.inmodal_weight > 0 and (inmodal_augment is None or self.text_augment is None):
            raise ValueError("inmodal_augment, text_augment: the in-modal term needs an image and a text augmentation")
        self.inmodal_augment = inmodal_augment

    def training_loss(self, x: Tensor, ids: Tensor) -> dict[str, Tensor]:
        img = self.encode_image(x)
        txt = self.encode_captions(ids)
        img_aug = txt_aug = None
        if self.inmodal_weight > 0:
            img_aug = self.encode_image(self.inmodal_augment(x))  # type: ignore[misc]
            txt_aug = self.encode_tokens(self.text_augment(self.caption_tokens[ids]))  # type: ignore[misc]
        return cleanclip_terms(img, txt, img_aug, txt_aug, logit_scale=self.logit_scale.scale(),
                               clip_weight=self.clip_weight, inmodal_weight=self.inmodal_weight)


@torch.no_grad()
def copy_towers(src: CLIP, dst: CLIP) -> CLIP:
    """Load ``src``'s towers and logit scale into ``dst`` (a fine-tune starts from the checkpoint)."""
    for name in ("image_encoder", "image_head", "text_encoder", "logit_scale"):
        getattr(dst, name).load_state_dict(getattr(src, name).state_dict())
    return dst


__all__ = ["CleanCLIP", "cleanclip_terms", "copy_towers"]
