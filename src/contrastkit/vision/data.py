"""Offline image datasets with fixed, documented splits (see docs/data.md).

Every loader returns an :class:`ImageSplit`: ``images`` float32 ``(n, C, H, W)`` in ``[0, 1]``,
``labels`` int64 ``(n,)``. Nothing here needs the network except the last-resort Fashion-MNIST
download, which only runs when no local copy exists and is checked against the published MD5s.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contrastkit._optional_data import HIDE_ENV, optional_data_hidden

SPLITS = ("train", "test")
DIGIT_CLASSES = [str(i) for i in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# MD5 of each .gz file as published in the "Get the Data" table of the official repository's README
# (github.com/zalandoresearch/fashion-mnist). Only downloads are checked: Debian recompresses the files.
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = Path.home() / ".cache" / "contrastkit"


@dataclass
class ImageSplit:
    """One split of an image dataset.

    Attributes:
        images: float32 ``(n, C, H, W)`` with values in ``[0, 1]``.
        labels: int64 ``(n,)`` class ids in ``[0, len(classes))``.
        name: dataset and split, e.g. ``"digits_canvas/train"``.
        classes: class names, indexed by label.
    """

    images: Tensor
    labels: Tensor
    name: str
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    return split  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All 1,797 digits in [0, 1] and the fixed stratified train / test index arrays."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    d = sk_load_digits()
    images = (d.images / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    train_idx, test_idx = train_test_split(np.arange(len(y)), test_size=360, stratify=y, random_state=0)
    return images, y, train_idx, test_idx


def _split(images: np.ndarray, y: np.ndarray, idx: np.ndarray, name: str, classes: list[str]) -> ImageSplit:
    x = torch.from_numpy(np.ascontiguousarray(images[idx])).unsqueeze(1)
    return ImageSplit(images=x, labels=torch.from_numpy(y[idx].copy()), name=name, classes=list(classes))


def load_digits(split: str = "train") -> ImageSplit:
    """scikit-learn's 8x8 handwritten digits (UCI optdigits test set; Alpaydin & Kaynak 1995).

    1,797 images of 10 classes, pixel counts 0..16 scaled to ``[0, 1]``. Fixed stratified split
    ``sklearn.model_selection.train_test_split(test_size=360, stratify=y, random_state=0)``:
    1,437 train / 360 test. Images are ``(n, 1, 8, 8)``.
    """
    split = _check_split(split)
    images, y, train_idx, test_idx = _digits_arrays()
    return _split(images, y, train_idx if split == "train" else test_idx, f"digits/{split}", DIGIT_CLASSES)


@lru_cache(maxsize=4)
def _canvas_arrays(canvas: int, noise: float, seed: int) -> np.ndarray:
    images, _, _, _ = _digits_arrays()
    n, h, w = images.shape
    rng = np.random.default_rng(seed)
    # placement and noise for all 1,797 images are drawn in dataset order, so a sample looks the
    # same whichever split it is read through
    top = rng.integers(0, canvas - h + 1, size=n)
    left = rng.integers(0, canvas - w + 1, size=n)
    out = rng.uniform(0.0, noise, size=(n, canvas, canvas)).astype(np.float32) if noise > 0 else (
        np.zeros((n, canvas, canvas), dtype=np.float32))
    rows = top[:, None, None] + np.arange(h)[None, :, None]
    cols = left[:, None, None] + np.arange(w)[None, None, :]
    out[np.arange(n)[:, None, None], rows, cols] += images
    return np.clip(out, 0.0, 1.0)


def _check_canvas_args(canvas: object, noise: object, seed: object) -> tuple[int, float, int]:
    if isinstance(canvas, bool) or not isinstance(canvas, (int, np.integer)) or canvas < 8:
        raise ValueError(f"canvas: expected an integer side length >= 8 (the digit size), got {canvas!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
        raise ValueError(f"noise: expected a number in [0, 1], got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an integer, got {type(seed).__name__}")
    return int(canvas), float(noise), int(seed)


def load_digits_canvas(split: str = "train", *, canvas: int = 16, noise: float = 0.15,
                       seed: int = 0) -> ImageSplit:
    """Digits-on-canvas: each 8x8 digit pasted at a random position of a ``canvas x canvas`` image.

    The miniature benchmark described in docs/data.md: raw 8x8 digits are too easy (a raw-pixel linear
    probe reaches ~97%), so each digit (scaled to [0, 1]) is placed at a uniformly random
    top-left corner in ``[0, canvas - 8]^2`` on a background of ``U(0, noise)`` noise, then
    clipped to ``[0, 1]``. Placements and noise are drawn once for all 1,797 images in dataset
    order with ``numpy.random.default_rng(seed)``; the split is that of :func:`load_digits`.
    Position is now a nuisance factor: see docs/data.md for raw-pixel and random-CNN baselines.
    """
    split = _check_split(split)
    canvas, noise, seed = _check_canvas_args(canvas, noise, seed)
    _, y, train_idx, test_idx = _digits_arrays()
    images = _canvas_arrays(canvas, noise, seed)
    return _split(images, y, train_idx if split == "train" else test_idx, f"digits_canvas/{split}",
                  DIGIT_CLASSES)


def longtail_counts(head: int = 140, ratio: float = 0.6, num_classes: int = 10) -> list[int]:
    """Per-class sizes ``ceil(head * ratio**k)`` of the long-tailed split (exponential profile).

    The exponential imbalance profile of Cui et al. (CVPR 2019, CIFAR-LT). Defaults give
    ``[140, 84, 51, 31, 19, 11, 7, 4, 3, 2]`` (imbalance ratio 70).
    """
    # the small offset keeps exact products (140 * 0.6 = 84) from rounding up to 85
    return [max(1, math.ceil(head * ratio**k - 1e-9)) for k in range(num_classes)]


def load_digits_canvas_longtail(
    split: str = "train",
    *,
    canvas: int = 16,
    noise: float = 0.15,
    seed: int = 0,
    head: int = 140,
    ratio: float = 0.6,
) -> ImageSplit:
    """Long-tailed digits-on-canvas: class ``k`` keeps ``ceil(head * ratio**k)`` training images.

    The training split of :func:`load_digits_canvas` is subsampled deterministically: for each
    class the first ``n_k`` images in split order are kept (the split order itself is the
    seeded shuffle of ``train_test_split``), with ``n_k`` from :func:`longtail_counts`. The
    test split is unchanged (balanced), as in long-tailed recognition benchmarks.
    """
    split = _check_split(split)
    full = load_digits_canvas(split, canvas=canvas, noise=noise, seed=seed)
    if split == "test":
        full.name = "digits_canvas_longtail/test"
        return full
    counts = longtail_counts(head, ratio, len(DIGIT_CLASSES))
    keep = []
    y = full.labels.numpy()
    for k, n_k in enumerate(counts):
        idx = np.flatnonzero(y == k)
        if n_k > idx.size:
            raise ValueError(f"head: class {k} has only {idx.size} training images, cannot keep {n_k}")
        keep.append(idx[:n_k])
    sel = torch.from_numpy(np.sort(np.concatenate(keep)))
    return ImageSplit(images=full.images[sel].clone(), labels=full.labels[sel].clone(),
                      name="digits_canvas_longtail/train", classes=list(DIGIT_CLASSES))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse an IDX file (LeCun's MNIST format, optionally gzipped) into a uint8 numpy array."""
    path = Path(path)
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"  # by content, not by name (a download's .part file is gzipped)
    with (gzip.open if gzipped else open)(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"path: {path} is not an unsigned-byte IDX file (bad magic {data[:4]!r})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise ValueError(f"path: {path} is truncated: header says {dims}, "
                         f"payload has {len(data) - offset} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _has_files(folder: Path) -> bool:
    return all((folder / f).is_file() for files in FASHION_MNIST_FILES.values() for f in files)


def fashion_mnist_dir(root: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """Folder holding the four Fashion-MNIST ``*-ubyte.gz`` files.

    Looked up in order: ``root``; ``$CONTRASTKIT_DATA/fashion-mnist``; the Debian package folder
    ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``); the cache
    ``~/.cache/contrastkit/fashion-mnist``; finally (if ``download``) the files are fetched from
    the Zalando URLs into that cache, each checked against its published MD5
    (:data:`FASHION_MNIST_MD5`) before it is kept. With ``$CONTRASTKIT_HIDE_OPTIONAL_DATA=1`` only
    ``root`` is looked at and nothing is downloaded (the behaviour of a machine without the data).

    Raises:
        FileNotFoundError: no local copy, and the download is disabled, failed or did not match
            its checksum; the message says how to install the data.
    """
    hidden = optional_data_hidden()
    candidates: list[Path] = []
    if root is not None:
        root = Path(root)
        candidates += [root, root / "fashion-mnist"]
    env = os.environ.get("CONTRASTKIT_DATA")
    if env and not hidden:
        candidates.append(Path(env) / "fashion-mnist")
    cache = CACHE_DIR / "fashion-mnist"
    if not hidden:
        candidates += [DEBIAN_FASHION_MNIST, cache]
    for folder in candidates:
        if _has_files(folder):
            return folder
    if root is not None and not download:
        raise FileNotFoundError(f"root: no Fashion-MNIST *-ubyte.gz files in {root}")
    hint = ("install the Debian package (`apt-get install -y dataset-fashion-mnist`, files in "
            f"{DEBIAN_FASHION_MNIST}), or put the four *-ubyte.gz files in $CONTRASTKIT_DATA/fashion-mnist "
            "or pass root=")
    if hidden:
        raise FileNotFoundError(f"Fashion-MNIST not found locally (${HIDE_ENV} hides the optional data); {hint}")
    if not download:
        raise FileNotFoundError(f"Fashion-MNIST not found locally; {hint}")
    cache.mkdir(parents=True, exist_ok=True)
    for files in FASHION_MNIST_FILES.values():
        for f in files:
            target = cache / f
            if target.is_file():
                continue
            tmp = target.with_name(f".{target.name}.part")
            try:
                with urllib.request.urlopen(FASHION_MNIST_URL + f, timeout=30) as resp:
                    payload = resp.read()
                digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()
                if digest != FASHION_MNIST_MD5[f]:
                    raise ValueError(f"MD5 {digest} does not match the published {FASHION_MNIST_MD5[f]}")
                tmp.write_bytes(payload)
                read_idx(tmp)  # refuse a non-IDX file even with a matching checksum
            except (urllib.error.URLError, OSError, ValueError) as err:
                tmp.unlink(missing_ok=True)
                raise FileNotFoundError(
                    f"Fashion-MNIST not found locally and the download of {f} failed ({err}); {hint}"
                ) from err
            tmp.rename(target)
    return cache


def fashion_mnist_available(root: str | os.PathLike[str] | None = None) -> bool:
    """``True`` when the Fashion-MNIST files are on this machine (no download is attempted)."""
    try:
        fashion_mnist_dir(root, download=False)
    except FileNotFoundError:
        return False
    return True


@lru_cache(maxsize=4)
def _fashion_arrays(folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    img_file, lab_file = FASHION_MNIST_FILES[split]
    images = read_idx(Path(folder) / img_file)
    labels = read_idx(Path(folder) / lab_file)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"Fashion-MNIST files in {folder} have shapes {images.shape} and {labels.shape}")
    return images, labels


def load_fashion_mnist(split: str = "train", root: str | os.PathLike[str] | None = None, *,
                       download: bool = True) -> ImageSplit:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28x28 greyscale Zalando article images.

    The official split: 60,000 train / 10,000 test, 10 balanced classes, pixels ``/255``.
    The IDX files are parsed with numpy (no torchvision). For where the files are looked up,
    see :func:`fashion_mnist_dir`; on an offline machine install the Debian package
    ``dataset-fashion-mnist``. Images are ``(n, 1, 28, 28)``; the parsed files are cached in
    memory, so repeated calls are cheap.
    """
    split = _check_split(split)
    folder = fashion_mnist_dir(root, download=download)
    images, labels = _fashion_arrays(str(folder), split)
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return ImageSplit(images=x, labels=torch.from_numpy(labels.astype(np.int64)),
                      name=f"fashion_mnist/{split}", classes=list(FASHION_MNIST_CLASSES))


IMAGE_DATASETS: dict[str, Callable[..., ImageSplit]] = {
    "digits": load_digits,
    "digits_canvas": load_digits_canvas,
    "digits_canvas_longtail": load_digits_canvas_longtail,
    "fashion_mnist": load_fashion_mnist,
}


def get_image_dataset(name: str, split: str = "train", **kwargs: object) -> ImageSplit:
    """Load a registered image dataset by name (``IMAGE_DATASETS``); ``kwargs`` go to the loader."""
    if name not in IMAGE_DATASETS:
        raise ValueError(f"name: unknown image dataset {name!r}; expected one of {sorted(IMAGE_DATASETS)}")
    return IMAGE_DATASETS[name](split, **kwargs)


def raw_pixel_features(split: ImageSplit | Tensor) -> Tensor:
    """Flattened pixels ``(n, C*H*W)``: the raw-pixel baseline for linear probes and kNN."""
    images = split.images if isinstance(split, ImageSplit) else split
    if not isinstance(images, Tensor) or images.dim() < 2:
        raise TypeError(f"split: expected an ImageSplit or an (n, ...) tensor, got {type(split).__name__}")
    return images.reshape(images.shape[0], -1)
