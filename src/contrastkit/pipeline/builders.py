"""Build losses, models and augmentations from validated recipe sections."""

from __future__ import annotations

from typing import Any

from torch import nn

from contrastkit.losses import CACR, DCL, DCLW, HardNegativeInfoNCE, InfoNCE, SimpleContrastive
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.pipeline.recipe import MethodConfig, ModelConfig

LOSSES: dict[str, type[ContrastiveLoss]] = {
    "infonce": InfoNCE,
    "dcl": DCL,
    "dclw": DCLW,
    "cacr": CACR,
    "hard_infonce": HardNegativeInfoNCE,
    "simple": SimpleContrastive,
}


def build_loss(method: MethodConfig) -> ContrastiveLoss:
    """Instantiate ``method.loss`` with ``method.loss_kwargs``; a bad kwarg names the key."""
    cls = LOSSES[method.loss]
    try:
        return cls(**method.loss_kwargs)
    except TypeError as err:
        raise ValueError(f"method.loss_kwargs: invalid for {cls.__name__}: {err}") from None


def build_model(config: ModelConfig, in_channels: int, image_size: int) -> EncoderWithHead:
    from contrastkit.vision.encoders import ProjectionHead, build_encoder

    kwargs: dict[str, Any] = dict(config.encoder_kwargs)
    if config.encoder == "mlp":
        kwargs.setdefault("in_dim", in_channels * image_size * image_size)
    else:
        kwargs.setdefault("in_channels", in_channels)
    try:
        encoder = build_encoder(config.encoder, **kwargs)
    except TypeError as err:
        raise ValueError(f"model.encoder_kwargs: invalid for {config.encoder}: {err}") from None
    projector = ProjectionHead(encoder.feature_dim, config.projector_hidden_dim, config.projector_out_dim)
    return EncoderWithHead(encoder, projector)


def build_augment(name: str) -> nn.Module:
    from contrastkit.vision.augment import SimCLRAugment

    presets = {
        "canvas": SimCLRAugment.for_canvas,
        "fashion_mnist": SimCLRAugment.for_fashion_mnist,
        "digits": getattr(SimCLRAugment, "for_digits", SimCLRAugment.for_canvas),
    }
    return presets[name]()
