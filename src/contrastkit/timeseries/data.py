"""Offline loaders for the UCR/UEA sets and forecasting series bundled in the ``aeon`` wheel.

Everything is read from files installed with ``aeon`` (no network). Classification sets come
back as float32 tensors ``(n, channels, length)`` with int64 labels ``0..K-1`` and the official
train/test split.

Unequal lengths (e.g. ``JapaneseVowels`` 7-29 steps, ``PickupGestureWiimoteZ`` 29-361) are
handled in one of two documented ways, chosen by ``unequal=``:

- ``"pad"`` (default): right-pad every series with zeros to the longest length of *both* splits
  and return a boolean ``mask`` ``(n, length)`` that is True on observed steps. The TS2Vec
  encoder (:class:`contrastkit.timeseries.TSEncoder`) takes this mask, zeroes padded steps and
  leaves them out of the max-pooled instance embedding.
- ``"resample"``: linearly interpolate each series to the longest length (all steps observed,
  ``mask`` is all True). This changes the time scale of short series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

BUNDLED_CLASSIFICATION = (
    "ACSF1", "ArrowHead", "BasicMotions", "Covid3Month_disc", "GunPoint", "ItalyPowerDemand",
    "JapaneseVowels", "OSULeaf", "PickupGestureWiimoteZ", "UnitTest",
)
BUNDLED_FORECASTING = ("airline",)
UNEQUAL_MODES = ("pad", "resample")


@dataclass(frozen=True)
class TimeSeriesDataset:
    """A classification set with its official split.

    Attributes:
        name: dataset name as aeon spells it.
        x_train, x_test: ``(n, channels, length)`` float32.
        y_train, y_test: ``(n,)`` int64 labels in ``0..num_classes-1``.
        mask_train, mask_test: ``(n, length)`` bool, True on observed (non-padded) steps.
        classes: original label strings, index = integer label.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    mask_train: Tensor
    mask_test: Tensor
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def length(self) -> int:
        return int(self.x_train.shape[2])


def _to_list(x: object) -> list[np.ndarray]:
    if isinstance(x, np.ndarray) and x.ndim == 3:
        return [s for s in x]
    return [np.asarray(s, dtype=np.float64) for s in x]  # aeon returns a list when unequal


def _stack(series: list[np.ndarray], length: int, unequal: str) -> tuple[Tensor, Tensor]:
    out = torch.zeros(len(series), series[0].shape[0], length, dtype=torch.float32)
    mask = torch.zeros(len(series), length, dtype=torch.bool)
    for i, s in enumerate(series):
        t = torch.as_tensor(np.nan_to_num(np.asarray(s, dtype=np.float64)), dtype=torch.float32)
        n = t.shape[-1]
        if n == length or unequal == "pad":
            out[i, :, :n] = t
            mask[i, :n] = True
        else:
            out[i] = F.interpolate(t[None], size=length, mode="linear", align_corners=True)[0]
            mask[i] = True
    return out, mask


def load_ucr(name: str, *, unequal: str = "pad", normalize: bool = False) -> TimeSeriesDataset:
    """Load a bundled UCR/UEA classification set with its official train/test split.

    Args:
        name: one of :data:`BUNDLED_CLASSIFICATION` (names that are not bundled would make aeon
            try to download; this loader refuses them instead).
        unequal: ``"pad"`` (zeros + mask) or ``"resample"`` (linear interpolation) for sets
            whose series have different lengths; ignored for equal-length sets.
        normalize: z-normalise each series and channel over its observed steps (UCR sets are
            mostly z-normalised already; UEA sets are not).

    Returns:
        :class:`TimeSeriesDataset`; labels are mapped jointly over both splits in sorted order.
    """
    if name not in BUNDLED_CLASSIFICATION:
        raise ValueError(f"name: {name!r} is not bundled with aeon; expected one of "
                         f"{BUNDLED_CLASSIFICATION}")
    if unequal not in UNEQUAL_MODES:
        raise ValueError(f"unequal: unknown option {unequal!r}; expected one of {UNEQUAL_MODES}")
    from aeon.datasets import load_classification

    xtr, ytr = load_classification(name, split="train")
    xte, yte = load_classification(name, split="test")
    str_tr, str_te = _to_list(xtr), _to_list(xte)
    length = max(s.shape[-1] for s in str_tr + str_te)
    x_train, mask_train = _stack(str_tr, length, unequal)
    x_test, mask_test = _stack(str_te, length, unequal)
    classes = tuple(sorted(set(map(str, ytr)) | set(map(str, yte)), key=_label_key))
    index = {c: i for i, c in enumerate(classes)}
    y_train = torch.tensor([index[str(v)] for v in ytr], dtype=torch.int64)
    y_test = torch.tensor([index[str(v)] for v in yte], dtype=torch.int64)
    if normalize:
        x_train, x_test = znormalize(x_train, mask_train), znormalize(x_test, mask_test)
    return TimeSeriesDataset(name, x_train, y_train, x_test, y_test, mask_train, mask_test, classes)


def _label_key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def znormalize(x: Tensor, mask: Tensor | None = None, eps: float = 1e-8) -> Tensor:
    """Per series and channel ``(x - mean) / std`` over the observed steps; padding stays 0."""
    if x.dim() != 3:
        raise ValueError(f"x: expected (n, channels, length), got shape {tuple(x.shape)}")
    m = torch.ones(x.shape[0], x.shape[2], dtype=torch.bool) if mask is None else mask
    w = m[:, None, :].to(x.dtype)
    count = w.sum(-1, keepdim=True).clamp_min(1)
    mean = (x * w).sum(-1, keepdim=True) / count
    var = (((x - mean) * w) ** 2).sum(-1, keepdim=True) / count
    return (x - mean) / (var.sqrt() + eps) * w


def load_forecasting_series(name: str = "airline") -> Tensor:
    """A bundled univariate forecasting series as a float32 tensor ``(length,)``.

    ``airline``: 144 monthly international airline passenger totals, 1949-1960 (Box & Jenkins).
    (aeon 1.6 deprecates its other small series, Lynx and ShampooSales, so they are not offered.)
    """
    from aeon import datasets

    loaders = {"airline": datasets.load_airline}
    if name not in loaders:
        raise ValueError(f"name: unknown forecasting series {name!r}; expected one of "
                         f"{tuple(loaders)}")
    values = np.asarray(loaders[name](), dtype=np.float64).reshape(-1)
    return torch.as_tensor(values, dtype=torch.float32)


__all__ = [
    "BUNDLED_CLASSIFICATION",
    "BUNDLED_FORECASTING",
    "TimeSeriesDataset",
    "load_forecasting_series",
    "load_ucr",
    "znormalize",
]
