"""Your own images as an :class:`~contrastkit.vision.data.ImageSplit`: a folder, numpy arrays, a ``datasets`` table.

Every source returns float32 ``(n, C, H, W)`` images in ``[0, 1]`` and int64 labels, the layout
of the built-in loaders, so the augmentations, encoders and probes take them unchanged. Images
of different sizes need ``resize=`` (one side for a square, or ``(height, width)``); without it
a mixed-size source is refused with the first two sizes found. Files are read with Pillow.

- :func:`load_image_folder`: ``root/<class>/<image>`` (the torchvision ``ImageFolder`` layout),
  classes in sorted order; or every image under ``root`` unlabelled (``labels=False``).
- :func:`images_from_numpy`: ``(n, H, W)``, ``(n, H, W, C)`` or ``(n, C, H, W)`` arrays, uint8
  (divided by 255) or float in ``[0, 1]``.
- :func:`images_from_table`: a Hugging Face ``datasets.Dataset`` or any mapping whose
  ``table[image_column]`` is a sequence of PIL images or arrays.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from contrastkit.vision.data import ImageSplit

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
MODES = {1: "L", 3: "RGB"}


def _check_resize(resize: object) -> tuple[int, int] | None:
    if resize is None:
        return None
    if isinstance(resize, int) and not isinstance(resize, bool):
        resize = (resize, resize)
    if (not isinstance(resize, (tuple, list)) or len(resize) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in resize)):
        raise ValueError(f"resize: expected None, a side >= 1 or a (height, width) pair, got {resize!r}")
    return int(resize[0]), int(resize[1])


def _check_channels(channels: object) -> int | None:
    if channels is not None and channels not in MODES:
        raise ValueError(f"channels: expected None (keep), 1 (grey) or 3 (RGB), got {channels!r}")
    return channels  # type: ignore[return-value]


def _stack(arrays: list[np.ndarray], what: str, resize: tuple[int, int] | None) -> Tensor:
    """Stack ``(C, H, W)`` float arrays, refusing mixed sizes (they need ``resize``)."""
    if not arrays:
        raise ValueError(f"{what}: no images found")
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            hint = "pass resize=(height, width)" if resize is None else "pass channels=1 or channels=3"
            raise ValueError(f"{what}: images have different shapes (C, H, W) {first} and {a.shape} "
                             f"(image {i}); {hint}")
    return torch.from_numpy(np.stack(arrays).astype(np.float32, copy=False))


def _from_pil(img: Any, channels: int | None, resize: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    if channels is not None:
        img = img.convert(MODES[channels])
    elif img.mode not in ("L", "RGB"):
        img = img.convert("RGB")  # palette, RGBA, CMYK, 16-bit: the three colour channels
    if resize is not None:
        img = img.resize((resize[1], resize[0]), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _labels(labels: object, n: int, name: str = "labels") -> Tensor | None:
    if labels is None:
        return None
    y = torch.as_tensor(np.asarray(labels))
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name}: expected {n} labels (one per image), got shape {tuple(y.shape)}")
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"{name}: expected integer class ids, got {y.dtype}")
    if n and int(y.min()) < 0:
        raise ValueError(f"{name}: expected class ids >= 0, got {int(y.min())}")
    return y.long()


def _split(images: Tensor, labels: Tensor | None, name: str, classes: Sequence[str] | None) -> ImageSplit:
    n = images.shape[0]
    if labels is None:
        labels = torch.zeros(n, dtype=torch.long)
        classes = classes or ["unlabelled"]
    if classes is None:
        classes = [str(c) for c in range(int(labels.max()) + 1)] if n else []
    return ImageSplit(images=images, labels=labels, name=name, classes=list(classes))


def load_image_folder(root: str | os.PathLike[str], *, resize: int | tuple[int, int] | None = None,
                      channels: int | None = None, labels: bool = True,
                      extensions: Sequence[str] = IMAGE_EXTENSIONS) -> ImageSplit:
    """Read every image under ``root`` into memory.

    With ``labels=True`` each sub-folder of ``root`` is a class (sorted names, ids 0, 1, ...) and
    its images (any depth) are that class's samples; with ``labels=False`` every image under
    ``root`` is read and the labels are all 0. ``channels`` converts to grey (1) or RGB (3);
    by default grey images stay grey and everything else becomes RGB, and a folder mixing both
    is refused (pass ``channels``). Files are read in sorted path order.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise FileNotFoundError(f"root: {root} is not a folder")
    size = _check_resize(resize)
    channels = _check_channels(channels)
    exts = tuple(e.lower() for e in extensions)

    def files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)

    if labels:
        classes = sorted(p.name for p in root_path.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not classes:
            raise ValueError(f"root: {root} has no class sub-folders (root/<class>/<image>); "
                             "pass labels=False for a flat folder")
        items = [(f, k) for k, c in enumerate(classes) for f in files(root_path / c)]
    else:
        classes = None
        items = [(f, 0) for f in files(root_path)]
    if not items:
        raise ValueError(f"root: no images with extensions {list(exts)} under {root}")
    from PIL import Image, UnidentifiedImageError

    arrays = []
    for f, _ in items:
        try:
            with Image.open(f) as img:
                arrays.append(_from_pil(img, channels, size))
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"root: cannot read {f} as an image ({err})") from None
    y = torch.tensor([k for _, k in items], dtype=torch.long) if labels else None
    return _split(_stack(arrays, "root", size), y, root_path.name, classes)


def images_from_numpy(images: object, labels: object = None, *, resize: int | tuple[int, int] | None = None,
                      classes: Sequence[str] | None = None, name: str = "numpy") -> ImageSplit:
    """Images from a numpy array (or a list of per-image arrays of possibly different sizes).

    Layouts: ``(n, H, W)`` grey, ``(n, H, W, C)`` channels-last (``C`` in 1, 3, 4; alpha is
    dropped) or ``(n, C, H, W)``. Channels-last is assumed when the last axis has 1, 3 or 4
    entries and the second does not. uint8 is divided by 255; floats must lie in ``[0, 1]``.
    ``resize`` resamples bilinearly (``torch.nn.functional.interpolate``, antialiased).
    """
    size = _check_resize(resize)
    if isinstance(images, np.ndarray):
        arrays = list(images) if images.ndim in (3, 4) else None
        if arrays is None:
            raise ValueError(f"images: expected (n, H, W), (n, H, W, C) or (n, C, H, W), got shape {images.shape}")
    elif isinstance(images, (list, tuple)):
        arrays = [np.asarray(a) for a in images]
    else:
        raise TypeError(f"images: expected a numpy array or a list of arrays, got {type(images).__name__}")
    if not arrays:
        raise ValueError("images: no images (the array is empty)")
    out = [_chw(a, i, size) for i, a in enumerate(arrays)]
    x = _stack(out, "images", size)
    return _split(x, _labels(labels, x.shape[0]), name, classes)


def _chw(a: np.ndarray, i: int, size: tuple[int, int] | None) -> np.ndarray:
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[-1] in (1, 3, 4) and a.shape[0] not in (1, 3, 4):
        a = a.transpose(2, 0, 1)
    elif a.ndim != 3:
        raise ValueError(f"images: image {i} has shape {a.shape}; expected (H, W), (H, W, C) or (C, H, W)")
    if a.shape[0] == 4:
        a = a[:3]  # RGBA: drop alpha
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError(f"images: image {i} has float values outside [0, 1] (or NaN); scale them or pass uint8")
    else:
        raise TypeError(f"images: expected uint8 or float pixels, got {a.dtype} (image {i})")
    if size is not None and a.shape[1:] != size:
        t = torch.from_numpy(np.ascontiguousarray(a))[None]
        a = torch.nn.functional.interpolate(t, size=size, mode="bilinear", antialias=True,
                                            align_corners=False).clamp_(0, 1)[0].numpy()
    return a


def images_from_table(table: Any, *, image_column: str = "image", label_column: str | None = "label",
                      resize: int | tuple[int, int] | None = None, channels: int | None = None,
                      name: str = "table") -> ImageSplit:
    """Images from a ``datasets.Dataset`` (or a mapping of columns) with an image column.

    ``table[image_column]`` holds PIL images (the ``datasets.Image`` feature) or arrays;
    ``table[label_column]`` integer class ids (``None`` for unlabelled data). Class names are
    read from a ``datasets.ClassLabel`` feature when there is one.
    """
    if not isinstance(table, Mapping) and not hasattr(table, "column_names"):
        raise TypeError(f"table: expected a datasets.Dataset or a mapping of columns, got {type(table).__name__}")
    columns = list(table.keys()) if isinstance(table, Mapping) else list(table.column_names)
    if image_column not in columns:
        raise ValueError(f"image_column: no column {image_column!r} in table; columns are {columns}")
    if label_column is not None and label_column not in columns:
        raise ValueError(f"label_column: no column {label_column!r} in table; columns are {columns} "
                         "(pass label_column=None for unlabelled images)")
    size = _check_resize(resize)
    channels = _check_channels(channels)
    column = table[image_column]
    if len(column) == 0:
        raise ValueError(f"table: column {image_column!r} has no images")
    arrays = []
    for i, item in enumerate(column):
        if hasattr(item, "convert") and hasattr(item, "mode"):  # a PIL image
            arrays.append(_from_pil(item, channels, size))
        else:
            arrays.append(_chw(np.asarray(item), i, size))
    x = _stack(arrays, "table", size)
    y = _labels(table[label_column], x.shape[0], "label_column") if label_column is not None else None
    classes = None
    features = getattr(table, "features", None)
    if label_column is not None and features is not None and hasattr(features.get(label_column), "names"):
        classes = list(features[label_column].names)
    return _split(x, y, name, classes)


__all__ = ["IMAGE_EXTENSIONS", "images_from_numpy", "images_from_table", "load_image_folder"]
