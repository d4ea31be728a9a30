"""Offline image datasets: split sizes and invariants, canvas construction, long tail, Fashion-MNIST IDX."""

from __future__ import annotations

import gzip
import importlib.util
import math
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from contrastkit.vision import (
    ImageSplit,
    get_image_dataset,
    load_digits,
    load_digits_canvas,
    load_digits_canvas_longtail,
    load_fashion_mnist,
    longtail_counts,
    raw_pixel_features,
    read_idx,
)
from contrastkit.vision import data as vdata

DEBIAN_READER = Path("/usr/share/doc/dataset-fashion-mnist/utils/mnist_reader.py")


def _check_split(s: ImageSplit, n: int, shape: tuple[int, ...]) -> None:
    assert isinstance(s, ImageSplit)
    assert s.images.dtype == torch.float32 and s.labels.dtype == torch.int64
    assert tuple(s.images.shape) == (n, *shape) and tuple(s.labels.shape) == (n,)
    assert float(s.images.min()) >= 0.0 and float(s.images.max()) <= 1.0
    assert len(s) == n and s.num_classes == 10
    assert set(s.labels.tolist()) == set(range(10))


def test_digits_split_sizes_stratified_and_complete():
    tr, te = load_digits("train"), load_digits("test")
    _check_split(tr, 1437, (1, 8, 8))
    _check_split(te, 360, (1, 8, 8))
    sk = sk_load_digits()
    # the two splits partition the dataset: same multiset of (image, label) as sklearn's
    ours = sorted(
        (tuple((x.flatten() * 16).round().int().tolist()), int(y))
        for s in (tr, te) for x, y in zip(s.images, s.labels, strict=True)
    )
    ref = sorted((tuple(x.astype(int).tolist()), int(y)) for x, y in zip(sk.data, sk.target, strict=True))
    assert ours == ref
    # stratified: each class's test share is 360/1797 up to one image
    for k in range(10):
        n_k = int((sk.target == k).sum())
        assert abs(int((te.labels == k).sum()) - n_k * 360 / 1797) <= 1
    # fixed split: same content on every call
    again = load_digits("test")
    assert torch.equal(again.images, te.images) and torch.equal(again.labels, te.labels)


def test_digits_canvas_contains_each_digit_once_on_noise():
    digits = load_digits("test")
    canvas = load_digits_canvas("test")
    _check_split(canvas, 360, (1, 16, 16))
    assert torch.equal(canvas.labels, digits.labels)
    noise = 0.15
    positions = set()
    for d, c in zip(digits.images[:60, 0], canvas.images[:60, 0], strict=True):
        found = []
        for top in range(9):
            for left in range(9):
                patch = c[top:top + 8, left:left + 8]
                inside = torch.zeros(16, 16, dtype=torch.bool)
                inside[top:top + 8, left:left + 8] = True
                # canvas = clip(digit + U(0, noise)) on the patch, U(0, noise) elsewhere
                ok = (patch >= d - 1e-6).all() and (patch <= torch.clamp(d + noise, max=1.0) + 1e-6).all()
                ok = ok and bool((c[~inside] <= noise + 1e-6).all())
                if ok:
                    found.append((top, left))
        assert found, "digit not found on its canvas"
        positions.add(found[0])
    assert len(positions) > 20  # positions vary


def test_digits_canvas_seed_and_options():
    a = load_digits_canvas("train", seed=0)
    b = load_digits_canvas("train", seed=0)
    c = load_digits_canvas("train", seed=1)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)
    clean = load_digits_canvas("test", canvas=12, noise=0.0)
    assert clean.images.shape == (360, 1, 12, 12)
    # without noise the canvas holds exactly the digit's pixels
    assert torch.allclose(clean.images.sum((1, 2, 3)), load_digits("test").images.sum((1, 2, 3)), atol=1e-4)
    with pytest.raises(ValueError, match="canvas"):
        load_digits_canvas("train", canvas=7)
    with pytest.raises(ValueError, match="noise"):
        load_digits_canvas("train", noise=-0.1)
    with pytest.raises(ValueError, match="split"):
        load_digits_canvas("val")


def test_longtail_counts_and_subset():
    want = [math.ceil(round(140 * 0.6**k, 9)) for k in range(10)]
    assert want == [140, 84, 51, 31, 19, 11, 7, 4, 3, 2]
    assert longtail_counts() == want
    lt = load_digits_canvas_longtail("train")
    full = load_digits_canvas("train")
    assert torch.bincount(lt.labels, minlength=10).tolist() == want
    assert lt.images.shape == (sum(want), 1, 16, 16)
    # the kept images are the first n_k of each class in split order
    for k, n_k in enumerate(want):
        assert torch.equal(lt.images[lt.labels == k], full.images[full.labels == k][:n_k])
    test = load_digits_canvas_longtail("test")
    assert torch.equal(test.images, load_digits_canvas("test").images)


def test_registry_and_raw_pixels():
    s = get_image_dataset("digits", "test")
    assert torch.equal(s.images, load_digits("test").images)
    assert get_image_dataset("digits_canvas_longtail", "train").images.shape[0] == 352
    with pytest.raises(ValueError, match="digits_canvas_longtail"):
        get_image_dataset("cifar10")
    feats = raw_pixel_features(s)
    assert feats.shape == (360, 64)
    assert torch.equal(feats[3], s.images[3].flatten())
    with pytest.raises(TypeError, match="split"):
        raw_pixel_features([1, 2])


# ------------------------------------------------------------------------------------ IDX / Fashion-MNIST
def _write_idx(path: Path, array: np.ndarray) -> None:
    """Independent IDX writer (struct-packed header)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _fake_fashion(folder: Path, n_train: int = 12, n_test: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {}
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        img_f, lab_f = vdata.FASHION_MNIST_FILES[split]
        arrays[split] = rng.integers(0, 256, size=(n, 28, 28))
        arrays[split + "_y"] = np.arange(n) % 10
        _write_idx(folder / img_f, arrays[split])
        _write_idx(folder / lab_f, arrays[split + "_y"])
    return arrays


def test_fashion_mnist_from_root_and_env(no_system_copies, monkeypatch):
    arrays = _fake_fashion(no_system_copies / "mine")
    s = load_fashion_mnist("train", root=no_system_copies / "mine")
    assert s.images.shape == (12, 1, 28, 28) and s.images.dtype == torch.float32
    assert np.allclose(s.images[:, 0].numpy() * 255, arrays["train"])
    assert s.labels.tolist() == arrays["train_y"].tolist()
    assert s.classes[9] == "Ankle boot"
    _fake_fashion(no_system_copies / "envroot" / "fashion-mnist", n_train=3, n_test=4)
    monkeypatch.setenv("CONTRASTKIT_DATA", str(no_system_copies / "envroot"))
    assert len(load_fashion_mnist("test")) == 4


def test_fashion_mnist_missing_explains_apt(no_system_copies, monkeypatch):
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist("train", download=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(vdata.urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train")
    assert not list((no_system_copies / "no-cache" / "fashion-mnist").glob("*.gz"))


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(b"\x00\x00\x0d\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="IDX"):
        read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as fh:
        fh.write(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="truncated"):
        read_idx(short)


@pytest.mark.requires_fashion_mnist
def test_fashion_mnist_debian_files():
    vdata._fashion_arrays.cache_clear()
    te = load_fashion_mnist("test")
    _check_split(te, 10000, (1, 28, 28))
    assert torch.bincount(te.labels).tolist() == [1000] * 10
    # independent reference: the reader shipped with the dataset (zalandoresearch utils/mnist_reader.py)
    if DEBIAN_READER.is_file():
        spec = importlib.util.spec_from_file_location("mnist_reader", DEBIAN_READER)
        reader = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(reader)
        x, y = reader.load_mnist(str(vdata.fashion_mnist_dir(download=False)), kind="t10k")
        assert np.array_equal((te.images.reshape(10000, 784).numpy() * 255).round().astype(np.uint8), x)
        assert np.array_equal(te.labels.numpy(), y.astype(np.int64))
    tr = load_fashion_mnist("train")
    assert tr.images.shape == (60000, 1, 28, 28)
    assert torch.bincount(tr.labels).tolist() == [6000] * 10
