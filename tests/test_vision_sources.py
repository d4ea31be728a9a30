"""Image sources: folder, numpy and table readers against Pillow / numpy by hand; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.vision.sources import images_from_numpy, images_from_table, load_image_folder


def rgb(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    arrays = {}
    for c, cls in enumerate(["cat", "dog"]):
        (tmp_path / cls).mkdir()
        for i in range(3 - c):
            a = rgb(6, 5, 10 * c + i)
            Image.fromarray(a).save(tmp_path / cls / f"{i}.png")
            arrays[(cls, i)] = a
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    return tmp_path, arrays


def test_folder_reads_classes_in_sorted_order(folder):
    root, arrays = folder
    split = load_image_folder(root)
    assert split.classes == ["cat", "dog"]
    assert split.images.shape == (5, 3, 6, 5) and split.images.dtype == torch.float32
    assert split.labels.tolist() == [0, 0, 0, 1, 1]
    ref = arrays[("dog", 1)].transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(split.images[4].numpy(), ref, atol=1e-7)


def test_folder_resize_and_grey(folder):
    root, arrays = folder
    split = load_image_folder(root, resize=(4, 3), channels=1)
    assert split.images.shape == (5, 1, 4, 3)
    ref = np.asarray(Image.fromarray(arrays[("cat", 0)]).convert("L").resize((3, 4), Image.BILINEAR)) / 255.0
    np.testing.assert_allclose(split.images[0, 0].numpy(), ref, atol=1e-7)


def test_folder_mixed_sizes_need_resize(folder):
    root, _ = folder
    Image.fromarray(rgb(7, 7, 99)).save(root / "cat" / "big.png")
    with pytest.raises(ValueError, match=r"^root: images have different shapes .* pass resize="):
        load_image_folder(root)
    assert load_image_folder(root, resize=8).images.shape == (6, 3, 8, 8)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="^root: "):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="^root: .* no class sub-folders"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="^root: no images"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="^resize: "):
        load_image_folder(tmp_path, resize=0)
    (tmp_path / "empty_class" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="^root: cannot read"):
        load_image_folder(tmp_path)


def test_flat_folder_unlabelled(tmp_path):
    for i in range(2):
        Image.fromarray(rgb(4, 4, i)).save(tmp_path / f"{i}.jpg")
    split = load_image_folder(tmp_path, labels=False)
    assert split.images.shape == (2, 3, 4, 4) and split.labels.tolist() == [0, 0]


@pytest.mark.parametrize("layout", ["nhwc", "nchw", "nhw"])
def test_numpy_layouts(layout):
    a = np.random.default_rng(0).integers(0, 256, size=(4, 6, 5, 3), dtype=np.uint8)
    ref = torch.from_numpy(a.transpose(0, 3, 1, 2) / 255.0).float()
    if layout == "nchw":
        a = a.transpose(0, 3, 1, 2)
    elif layout == "nhw":
        a, ref = a[..., 0], ref[:, :1]
    split = images_from_numpy(a, labels=[0, 1, 1, 2])
    torch.testing.assert_close(split.images, ref)
    assert split.labels.tolist() == [0, 1, 1, 2] and split.classes == ["0", "1", "2"]


def test_numpy_resize_matches_interpolate():
    a = np.random.default_rng(1).random((2, 3, 8, 8)).astype(np.float32)
    out = images_from_numpy(a, resize=4).images
    ref = torch.nn.functional.interpolate(torch.from_numpy(a), size=(4, 4), mode="bilinear", antialias=True)
    torch.testing.assert_close(out, ref.clamp(0, 1))


def test_numpy_errors():
    good = np.zeros((3, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"^labels: expected 3 labels"):
        images_from_numpy(good, labels=[0, 1])
    with pytest.raises(TypeError, match="^labels: expected integer"):
        images_from_numpy(good, labels=[0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match="^images: no images"):
        images_from_numpy([])
    with pytest.raises(ValueError, match="^images: image 0 has float values outside"):
        images_from_numpy(np.full((2, 4, 4), 2.0))
    with pytest.raises(ValueError, match="^images: images have different shapes .* pass resize="):
        images_from_numpy([np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)])
    with pytest.raises(TypeError, match="^images: expected a numpy array"):
        images_from_numpy("pictures")
    mixed = images_from_numpy([np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)], resize=3)
    assert mixed.images.shape == (2, 1, 3, 3)


def test_table_of_pil_images_and_classlabel_names():
    class Feature:
        names = ["a", "b"]

    class Table(dict):
        features = {"label": Feature()}

    imgs = [Image.fromarray(rgb(4, 4, i)) for i in range(3)]
    table = Table(image=imgs, label=[1, 0, 1])
    split = images_from_table(table)
    assert split.images.shape == (3, 3, 4, 4) and split.classes == ["a", "b"]
    np.testing.assert_allclose(split.images[2].numpy(), np.asarray(imgs[2]).transpose(2, 0, 1) / 255.0, atol=1e-7)
    with pytest.raises(ValueError, match="^image_column: no column 'img'"):
        images_from_table(table, image_column="img")
    with pytest.raises(ValueError, match="^label_column: expected 3 labels"):
        images_from_table({"image": imgs, "label": [0]})
    with pytest.raises(ValueError, match="^table: column 'image' has no images"):
        images_from_table({"image": [], "label": []})
    assert images_from_table({"image": imgs}, label_column=None).labels.tolist() == [0, 0, 0]
