"""Batched on-tensor time-series augmentations.

Every function takes ``x`` of shape ``(B, C, T)`` and returns a tensor of the same shape, draws
its randomness from ``generator`` (or the global torch RNG) on ``x``'s device, and transforms the
whole batch with tensor operations (no per-sample Python loop). The defaults follow the
augmentation banks of TS-TCC (Eldele et al., IJCAI 2021) and InfoTS / AutoTCL (``augclass.py``):
jitter ``sigma=0.3``, scaling ``sigma=0.5``, permutation with at most 5 segments.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Augmentation = Callable[..., Tensor]


def _check(x: object, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name}: expected shape (batch, channels, length), got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating dtype, got {x.dtype}")
    return x


def _check_nonneg(value: float, name: str) -> None:
    if not value >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")


def _rand(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)


def _randn(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)


def interpolate_at(x: Tensor, pos: Tensor) -> Tensor:
    """Linear interpolation of each series at fractional time positions.

    ``x``: ``(B, C, T)``; ``pos``: ``(B, T')`` positions in ``[0, T-1]`` (clamped).
    Returns ``(B, C, T')`` with ``out[b, c, k] = (1-w) x[b, c, floor p] + w x[b, c, floor p + 1]``.
    """
    t = x.shape[-1]
    pos = pos.clamp(0, t - 1)
    lo = pos.floor().long().clamp(max=t - 1)
    hi = (lo + 1).clamp(max=t - 1)
    w = (pos - lo.to(pos.dtype)).unsqueeze(1).to(x.dtype)
    idx_lo = lo.unsqueeze(1).expand(-1, x.shape[1], -1)
    idx_hi = hi.unsqueeze(1).expand(-1, x.shape[1], -1)
    return x.gather(2, idx_lo) * (1 - w) + x.gather(2, idx_hi) * w


def jitter(x: Tensor, sigma: float = 0.3, *, generator: torch.Generator | None = None) -> Tensor:
    """Additive Gaussian noise ``x + eps``, ``eps ~ N(0, sigma^2)`` per step and channel."""
    _check(x)
    _check_nonneg(sigma, "sigma")
    return x + sigma * _randn(tuple(x.shape), x, generator)


def scaling(x: Tensor, sigma: float = 0.5, *, generator: torch.Generator | None = None) -> Tensor:
    """Multiply each series and channel by one factor ``a ~ N(1, sigma^2)``."""
    _check(x)
    _check_nonneg(sigma, "sigma")
    return x * (1 + sigma * _randn((x.shape[0], x.shape[1], 1), x, generator))


def jitter_scaling(
    x: Tensor, jitter_sigma: float = 0.3, scaling_sigma: float = 0.5, *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Scaling followed by jitter (TS-TCC's weak augmentation; AutoTCL's fixed baseline)."""
    return jitter(scaling(x, scaling_sigma, generator=generator), jitter_sigma, generator=generator)


def permutation(
    x: Tensor, max_segments: int = 5, *, generator: torch.Generator | None = None
) -> Tensor:
    """Cut each series into ``m ~ U{1..max_segments}`` random segments and shuffle their order.

    Batched: every series gets ``max_segments - 1`` random cut points of which a random number is
    active; each step's segment id is the count of active cuts at or before it, segments get
    random ranks, and one ``argsort`` of ``rank[segment] * 2T + t`` reorders all series.
    """
    _check(x)
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise ValueError(f"max_segments: expected an integer >= 1, got {max_segments!r}")
    b, _, t = x.shape
    if max_segments == 1 or t < 2:
        return x.clone()
    k = max_segments - 1
    cuts = 1 + (_rand((b, k), x, generator) * (t - 1)).long()             # cut before step `cut`
    n_active = (_rand((b, 1), x, generator) * max_segments).long()        # 0..k active cuts
    active = torch.arange(k, device=x.device).unsqueeze(0) < n_active
    steps = torch.arange(t, device=x.device)
    seg = ((steps.view(1, 1, t) >= cuts.unsqueeze(-1)) & active.unsqueeze(-1)).sum(1)  # (B, T)
    rank = _rand((b, max_segments), x, generator).argsort(dim=1).argsort(dim=1)  # random segment order
    order = (rank.gather(1, seg) * (2 * t) + steps).argsort(dim=1)
    return x.gather(2, order.unsqueeze(1).expand(-1, x.shape[1], -1))


def masking(
    x: Tensor, ratio: float = 0.5, *, mode: str = "binomial", n_spans: int = 5,
    span: float = 0.1, generator: torch.Generator | None = None,
) -> Tensor:
    """Zero out time steps (all channels).

    ``mode="binomial"``: each step is dropped with probability ``ratio`` (TS2Vec's timestamp
    mask). ``mode="continuous"``: ``n_spans`` spans of ``span * T`` steps (TS2Vec / COMET).
    """
    _check(x)
    return x * keep_mask(x.shape[0], x.shape[-1], ratio=ratio, mode=mode, n_spans=n_spans,
                         span=span, device=x.device, generator=generator).unsqueeze(1).to(x.dtype)


def keep_mask(
    b: int, t: int, *, ratio: float = 0.5, mode: str = "binomial", n_spans: int = 5,
    span: float = 0.1, device: torch.device | None = None, generator: torch.Generator | None = None,
) -> Tensor:
    """``(b, t)`` bool mask of kept steps (see :func:`masking`)."""
    if mode == "binomial":
        if not 0 <= ratio <= 1:
            raise ValueError(f"ratio: expected a probability in [0, 1], got {ratio!r}")
        return torch.rand((b, t), generator=generator, device=device) >= ratio
    if mode == "continuous":
        length = max(int(span * t), 1)
        n = max(min(n_spans, t // 2), 1)
        starts = (torch.rand((b, n), generator=generator, device=device) * (t - length + 1)).long()
        steps = torch.arange(t, device=device).view(1, 1, t)
        hit = (steps >= starts.unsqueeze(-1)) & (steps < starts.unsqueeze(-1) + length)
        return ~hit.any(1)
    raise ValueError(f"mode: unknown option {mode!r}; expected 'binomial' or 'continuous'")


def cropping(
    x: Tensor, min_ratio: float = 0.5, *, generator: torch.Generator | None = None
) -> Tensor:
    """Random crop of ``r*T`` steps, ``r ~ U(min_ratio, 1)``, linearly resized back to ``T``."""
    _check(x)
    if not 0 < min_ratio <= 1:
        raise ValueError(f"min_ratio: expected a number in (0, 1], got {min_ratio!r}")
    b, _, t = x.shape
    ratio = min_ratio + (1 - min_ratio) * _rand((b, 1), x, generator)
    width = ratio * (t - 1)
    start = _rand((b, 1), x, generator) * (t - 1 - width)
    grid = torch.linspace(0, 1, t, device=x.device, dtype=x.dtype).unsqueeze(0)
    return interpolate_at(x, start + grid * width)


def time_warp(
    x: Tensor, sigma: float = 0.2, knots: int = 4, *, generator: torch.Generator | None = None
) -> Tensor:
    """Smooth random time warping (Um et al., 2017).

    A speed curve ``v(t) > 0`` is drawn as ``knots + 2`` values ``~ N(1, sigma^2)`` (clamped at
    0.1) linearly interpolated over time; the warped clock ``tau(t) = cumsum(v) `` is rescaled to
    ``[0, T-1]`` and the series is read at ``tau(t)``.
    """
    _check(x)
    _check_nonneg(sigma, "sigma")
    if isinstance(knots, bool) or not isinstance(knots, int) or knots < 0:
        raise ValueError(f"knots: expected an integer >= 0, got {knots!r}")
    b, _, t = x.shape
    speed_knots = (1 + sigma * _randn((b, 1, knots + 2), x, generator)).clamp_min(0.1)
    knot_pos = torch.linspace(0, knots + 1, t, device=x.device, dtype=x.dtype).expand(b, t)
    speed = interpolate_at(speed_knots, knot_pos)[:, 0]                   # (B, T)
    clock = torch.cumsum(speed, dim=1) - speed[:, :1]
    clock = clock / clock[:, -1:].clamp_min(1e-12) * (t - 1)
    return interpolate_at(x, clock)


AUGMENTATIONS: dict[str, Augmentation] = {
    "jitter": jitter,
    "scaling": scaling,
    "jitter_scaling": jitter_scaling,
    "permutation": permutation,
    "masking": masking,
    "cropping": cropping,
    "time_warp": time_warp,
}


def get_augmentation(name: str) -> Augmentation:
    """Resolve an augmentation by name (keys of :data:`AUGMENTATIONS`)."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"augmentation: unknown option {name!r}; expected one of "
                         f"{tuple(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]


__all__ = [
    "AUGMENTATIONS",
    "cropping",
    "get_augmentation",
    "interpolate_at",
    "jitter",
    "jitter_scaling",
    "keep_mask",
    "masking",
    "permutation",
    "scaling",
    "time_warp",
]
