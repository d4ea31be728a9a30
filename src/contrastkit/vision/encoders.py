"""Small image encoders and projection heads for CPU-sized contrastive experiments."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def _check_pos_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks (3x3, stride 1, padding 1) followed by global max pooling.

    With the default ``widths=(32, 64)`` this is the 2-conv CNN of the digit miniatures
    (see docs/data.md): a randomly initialised copy already reaches ~75% linear-probe accuracy on
    digits-on-canvas, because the max pool makes it translation invariant. ``pool_between``
    adds a 2x2 max pool after every block but the last (a larger receptive field for 28x28
    inputs). The output has ``feature_dim`` = ``widths[-1]`` features, or a final linear layer
    maps to ``feature_dim`` when given.
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (32, 64), feature_dim: int | None = None,
                 *, pool_between: bool = False) -> None:
        super().__init__()
        _check_pos_int(in_channels, "in_channels")
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths: expected at least one conv width")
        for w in widths:
            _check_pos_int(w, "widths")
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if pool_between and i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveMaxPool2d(1)
        if feature_dim is None:
            self.fc: nn.Module = nn.Identity()
            self.feature_dim = widths[-1]
        else:
            self.fc = nn.Linear(widths[-1], _check_pos_int(feature_dim, "feature_dim"))
            self.feature_dim = feature_dim
        self.in_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected a (B, {self.in_channels}, H, W) batch, got shape {tuple(x.shape)}")
        return self.fc(self.pool(self.features(x)).flatten(1))


class MLPEncoder(nn.Module):
    """``Flatten -> Linear(in_dim, hidden) -> BN -> ReLU -> Linear(hidden, out_dim)``.

    The MLP encoder of the raw-digit miniatures (64 -> 256 -> 128). Inputs of
    any shape ``(B, ...)`` with ``in_dim`` elements per sample are flattened.
    """

    def __init__(self, in_dim: int, hidden: int = 256, out_dim: int = 128) -> None:
        super().__init__()
        self.in_dim = _check_pos_int(in_dim, "in_dim")
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_dim, _check_pos_int(hidden, "hidden")), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, _check_pos_int(out_dim, "out_dim")),
        )
        self.feature_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 2 or x[0].numel() != self.in_dim:
            raise ValueError(f"x: expected (B, ...) with {self.in_dim} values per sample, "
                             f"got shape {tuple(x.shape)}")
        return self.net(x)


class ProjectionHead(nn.Module):
    """SimCLR's projection head g(.) (Chen et al., ICML 2020): ``num_layers`` linear layers.

    ``[Linear -> BN -> ReLU] x (num_layers - 1) -> Linear``; the loss is applied to its output
    while downstream evaluation uses the encoder features before it.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 128, out_dim: int = 64, num_layers: int = 2) -> None:
        super().__init__()
        _check_pos_int(in_dim, "in_dim")
        _check_pos_int(hidden_dim, "hidden_dim")
        _check_pos_int(out_dim, "out_dim")
        _check_pos_int(num_layers, "num_layers")
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(d, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)]
            d = hidden_dim
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


TIMM_HINT = "timm_backbone needs timm; install it with pip install 'contrastkit[timm]' (it pulls torchvision)"


class TimmBackbone(nn.Module):
    """A timm model without its classifier: ``(B, C, H, W)`` images to ``(B, feature_dim)`` pooled features.

    Built by :func:`timm_backbone`; ``name`` and ``in_channels`` are kept so the model can be
    rebuilt (``save_pretrained`` / ``from_pretrained``).
    """

    def __init__(self, name: str, in_channels: int = 3, pretrained: bool = False, **kwargs: object) -> None:
        super().__init__()
        try:
            import timm
        except ImportError as err:
            raise ImportError(TIMM_HINT) from err
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a timm model name such as 'resnet18', got {name!r}")
        if name not in timm.list_models() and name.split(".")[0] not in timm.list_models():
            raise ValueError(f"name: timm has no model {name!r} (see timm.list_models())")
        self.name, self.in_channels = name, _check_pos_int(in_channels, "in_channels")
        self.model = timm.create_model(name, pretrained=pretrained, num_classes=0, in_chans=in_channels, **kwargs)
        self.feature_dim = int(self.model.num_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected a (B, {self.in_channels}, H, W) batch, got shape {tuple(x.shape)}")
        return self.model(x)


def timm_backbone(name: str, pretrained: bool = False, *, in_channels: int = 3, **kwargs: object) -> TimmBackbone:
    """A timm backbone by name (e.g. ``"resnet18"``, ``"vit_tiny_patch16_224"``) with the head removed.

    Needs the optional extra ``contrastkit[timm]``; ``pretrained=True`` lets timm fetch weights
    from its hub (off by default: nothing is downloaded unless asked). ``kwargs`` go to
    ``timm.create_model``. The result has ``feature_dim`` for a :class:`ProjectionHead`.
    """
    return TimmBackbone(name, in_channels, pretrained, **kwargs)


ENCODERS: dict[str, Callable[..., nn.Module]] = {"small_cnn": SmallCNN, "mlp": MLPEncoder}


def build_encoder(name: str, **kwargs: object) -> nn.Module:
    """Build a registered encoder (``ENCODERS``: "small_cnn", "mlp") with ``kwargs``."""
    if name not in ENCODERS:
        raise ValueError(f"name: unknown encoder {name!r}; expected one of {sorted(ENCODERS)}")
    return ENCODERS[name](**kwargs)


@torch.no_grad()
def extract_features(encoder: nn.Module, images: Tensor, *, batch_size: int = 512) -> Tensor:
    """Encoder outputs for ``images`` in eval mode (BN running statistics), in batches, on the CPU.

    The encoder's training flag is restored afterwards.
    """
    _check_pos_int(batch_size, "batch_size")
    was_training = encoder.training
    encoder.eval()
    try:
        device = next((p.device for p in encoder.parameters()), images.device)
        out = [encoder(images[i:i + batch_size].to(device)).cpu()
               for i in range(0, images.shape[0], batch_size)]
    finally:
        encoder.train(was_training)
    return torch.cat(out)
