"""Argument checks shared by the backdoor parts (errors name the argument and what was expected)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_images(x: object, name: str = "images") -> Tensor:
    """A floating ``(B, C, H, W)`` batch with every value in ``[0, 1]``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of images, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name}: expected a (B, C, H, W) batch (rank 4), got rank {x.dim()} "
                         f"shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating dtype with values in [0, 1], got {x.dtype}")
    if x.numel():
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0.0 or hi > 1.0:
            raise ValueError(f"{name}: expected values in [0, 1], got range [{lo:.4g}, {hi:.4g}]")
    return x


def check_rate(rate: object, name: str = "rate") -> float:
    """A poisoning rate strictly inside ``(0, 1)``."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise TypeError(f"{name}: expected a number in (0, 1), got {type(rate).__name__}")
    if not math.isfinite(rate) or not 0.0 < rate < 1.0:
        raise ValueError(f"{name}: expected a poison rate in (0, 1), got {rate}")
    return float(rate)


def check_budget(epsilon: object, name: str = "epsilon") -> float:
    """An L-infinity budget ``> 0`` (at most 1 for images in ``[0, 1]``)."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"{name}: expected an L-infinity budget in (0, 1], got {type(epsilon).__name__}")
    if not math.isfinite(epsilon) or not 0.0 < epsilon <= 1.0:
        raise ValueError(f"{name}: expected an L-infinity budget in (0, 1], got {epsilon}")
    return float(epsilon)


def check_fraction(value: object, name: str, *, closed_low: bool = False) -> float:
    """A number in ``(0, 1]`` (or ``[0, 1]`` with ``closed_low``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number in {'[0' if closed_low else '(0'}, 1], got {value!r}")
    ok = (0.0 <= value <= 1.0) if closed_low else (0.0 < value <= 1.0)
    if not ok:
        raise ValueError(f"{name}: expected a number in {'[0' if closed_low else '(0'}, 1], got {value}")
    return float(value)


def check_target(target: object, labels: Tensor | None = None, name: str = "target") -> int:
    """An integer class id; with ``labels``, one that occurs among them."""
    if isinstance(target, bool) or not isinstance(target, int):
        if isinstance(target, Tensor) and target.numel() == 1 and not target.dtype.is_floating_point:
            target = int(target)
        else:
            raise TypeError(f"{name}: expected an integer class id, got {type(target).__name__}")
    if labels is not None and not bool((labels == target).any()):
        present = sorted({int(v) for v in torch.unique(labels).tolist()})
        shown = present if len(present) <= 20 else present[:20] + ["..."]
        raise ValueError(f"{name}: class {target} is not among the labels (present: {shown})")
    return int(target)


def int_labels(y: object, n: int | None, name: str) -> Tensor:
    """Integer class ids ``(n,)`` (tensors, numpy arrays or lists)."""
    if not isinstance(y, Tensor):
        try:
            y = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name}: expected integer class ids, got {type(y).__name__}") from None
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name}: expected an integer dtype, got {y.dtype}")
    if y.dim() != 1 or (n is not None and y.shape[0] != n):
        want = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(y.shape)}")
    return y.long().cpu()
