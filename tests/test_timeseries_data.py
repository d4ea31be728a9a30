"""Loaders of the aeon-bundled UCR/UEA sets."""

import numpy as np
import pytest
import torch

from contrastkit.timeseries import load_forecasting_series, load_ucr, znormalize


def test_univariate_shapes_labels_and_split():
    d = load_ucr("GunPoint")
    assert d.x_train.shape == (50, 1, 150) and d.x_test.shape == (150, 1, 150)
    assert d.y_train.dtype == torch.int64 and d.x_train.dtype == torch.float32
    assert set(d.y_train.tolist()) | set(d.y_test.tolist()) == {0, 1}
    assert d.classes == ("1", "2") and d.mask_train.all()
    from aeon.datasets import load_classification

    x, y = load_classification("GunPoint", split="test")
    np.testing.assert_allclose(d.x_test.numpy(), x.astype(np.float32))
    assert [d.classes[i] for i in d.y_test.tolist()] == list(y)


def test_multivariate():
    d = load_ucr("BasicMotions")
    assert d.x_train.shape == (40, 6, 100) and d.num_classes == 4


def test_unequal_lengths_pad_and_resample():
    from aeon.datasets import load_classification

    raw, _ = load_classification("JapaneseVowels", split="train")
    d = load_ucr("JapaneseVowels")
    lengths = torch.tensor([s.shape[-1] for s in raw])
    assert d.x_train.shape[:2] == (270, 12) and d.length == 29
    assert torch.equal(d.mask_train.sum(1), lengths)
    i = int(lengths.argmin())
    n = int(lengths[i])
    np.testing.assert_allclose(d.x_train[i, :, :n].numpy(), raw[i].astype(np.float32), rtol=1e-6)
    assert (d.x_train[i, :, n:] == 0).all()
    r = load_ucr("JapaneseVowels", unequal="resample")
    assert r.mask_train.all()
    # endpoints are kept by linear resampling (align_corners=True)
    np.testing.assert_allclose(r.x_train[i, :, 0].numpy(), raw[i][:, 0].astype(np.float32), rtol=1e-5)
    np.testing.assert_allclose(r.x_train[i, :, -1].numpy(), raw[i][:, -1].astype(np.float32), rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="name"):
        load_ucr("ECG200")
    with pytest.raises(ValueError, match="unequal"):
        load_ucr("GunPoint", unequal="crop")
    with pytest.raises(ValueError, match="name"):
        load_forecasting_series("m4")


def test_znormalize_ignores_padding():
    x = torch.tensor([[[1.0, 2.0, 3.0, 0.0]]])
    mask = torch.tensor([[True, True, True, False]])
    z = znormalize(x, mask)
    expected = (torch.tensor([1.0, 2.0, 3.0]) - 2.0) / torch.tensor([1.0, 2.0, 3.0]).std(unbiased=False)
    torch.testing.assert_close(z[0, 0, :3], expected)
    assert z[0, 0, 3] == 0


def test_airline():
    s = load_forecasting_series("airline")
    assert s.shape == (144,) and float(s[0]) == 112.0
