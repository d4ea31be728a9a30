"""Batched augmentations against naive per-sample reference loops (torch.roll, slicing, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from contrastkit.vision import (
    GaussianNoise,
    RandomCircularShift,
    RandomErase,
    RandomHorizontalFlip,
    RandomIntensity,
    RandomResizedCrop,
    RandomRotation,
    SimCLRAugment,
)

ALL = [
    lambda: RandomCircularShift(3),
    lambda: RandomIntensity(0.8, 1.2),
    lambda: GaussianNoise(0.05),
    lambda: RandomErase(2, p=0.7),
    lambda: RandomResizedCrop(scale=(0.3, 1.0)),
    lambda: RandomRotation(30.0),
    lambda: RandomHorizontalFlip(0.5),
]


def batch(b=16, c=2, h=9, w=11, seed=0):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


def ref_affine(img: np.ndarray, theta: np.ndarray, out_hw: tuple[int, int], mode: str) -> np.ndarray:
    """Bilinear resampling with scipy: output pixel centre -> normalised coords -> theta -> input pixel."""
    ho, wo = out_hw
    _, h, w = img.shape
    i, j = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    xn, yn = (2 * j + 1) / wo - 1, (2 * i + 1) / ho - 1
    xi = theta[0, 0] * xn + theta[0, 1] * yn + theta[0, 2]
    yi = theta[1, 0] * xn + theta[1, 1] * yn + theta[1, 2]
    cols, rows = ((xi + 1) * w - 1) / 2, ((yi + 1) * h - 1) / 2
    return np.stack([ndimage.map_coordinates(ch, [rows, cols], order=1, mode=mode) for ch in img])


# ------------------------------------------------------------------ per-sample reference loops
def test_shift_matches_roll_loop():
    x = batch()
    aug = RandomCircularShift(4)
    p = aug.sample_params(x, gen(1))
    out = aug.apply(x, p)
    for i in range(x.shape[0]):
        dy, dx = p["shift"][i].tolist()
        assert -4 <= dy <= 4 and -4 <= dx <= 4
        assert torch.equal(out[i], torch.roll(x[i], shifts=(dy, dx), dims=(-2, -1)))


def test_intensity_and_noise_match_loop():
    x = batch()
    aug = RandomIntensity(0.5, 1.5)
    p = aug.sample_params(x, gen(2))
    out = aug.apply(x, p)
    for i in range(x.shape[0]):
        s = float(p["scale"][i])
        assert 0.5 <= s <= 1.5
        assert torch.allclose(out[i], x[i] * s)
    noise = GaussianNoise(0.1)
    p = noise.sample_params(x, gen(3))
    out = noise.apply(x, p)
    assert torch.allclose(out - x, p["noise"], atol=1e-6)
    assert abs(float(p["noise"].std()) - 0.1) < 0.01


def test_erase_matches_slice_loop():
    x = batch(b=32)
    aug = RandomErase(3, p=0.6, value=-1.0)
    p = aug.sample_params(x, gen(4))
    out = aug.apply(x, p)
    for i in range(x.shape[0]):
        ref = x[i].clone()
        if p["active"][i]:
            top, left = int(p["top"][i]), int(p["left"][i])
            assert 0 <= top <= 9 - 3 and 0 <= left <= 11 - 3
            ref[:, top:top + 3, left:left + 3] = -1.0
        assert torch.equal(out[i], ref)
    assert 0 < int(p["active"].sum()) < 32


def test_flip_matches_loop():
    x = batch(b=32)
    aug = RandomHorizontalFlip(0.5)
    p = aug.sample_params(x, gen(5))
    out = aug.apply(x, p)
    for i in range(x.shape[0]):
        assert torch.equal(out[i], x[i].flip(-1) if p["flip"][i] else x[i])
    assert 0 < int(p["flip"].sum()) < 32


def test_rotation_matches_scipy_loop_and_rot90():
    x = batch(b=8, h=9, w=11).double()
    aug = RandomRotation(40.0)
    p = aug.sample_params(x, gen(6))
    out = aug.apply(x, p)
    h, w = 9, 11
    for i in range(x.shape[0]):
        a = np.deg2rad(float(p["angle"][i]))
        assert abs(float(p["angle"][i])) <= 40.0
        theta = np.array([[np.cos(a), -np.sin(a) * h / w, 0.0], [np.sin(a) * w / h, np.cos(a), 0.0]])
        ref = ref_affine(x[i].numpy(), theta, (h, w), mode="grid-constant")
        assert np.allclose(out[i].numpy(), ref, atol=1e-6)
    sq = batch(b=3, h=6, w=6)
    rot = aug.apply(sq, {"angle": torch.full((3,), 90.0)})
    assert torch.allclose(rot, torch.rot90(sq, 1, dims=(-2, -1)), atol=1e-5)


def test_resized_crop_matches_scipy_loop_and_params_in_range():
    x = batch(b=64, h=12, w=12).double()
    aug = RandomResizedCrop(size=(7, 5), scale=(0.3, 0.9), ratio=(0.5, 2.0))
    p = aug.sample_params(x, gen(7))
    out = aug.apply(x, p)
    assert out.shape == (64, 2, 7, 5)
    theta = p["theta"].double()
    w, h = theta[:, 0, 0], theta[:, 1, 1]
    assert torch.all(theta[:, 0, 1] == 0) and torch.all(theta[:, 1, 0] == 0)
    assert torch.all((w <= 1) & (h <= 1))
    # the region stays inside the image
    assert torch.all(theta[:, 0, 2].abs() <= 1 - w + 1e-6) and torch.all(theta[:, 1, 2].abs() <= 1 - h + 1e-6)
    unclipped = (w < 1) & (h < 1)
    area, ratio = (w * h)[unclipped], (w / h)[unclipped]
    assert torch.all((area >= 0.3 - 1e-6) & (area <= 0.9 + 1e-6))
    assert torch.all((ratio >= 0.5 - 1e-6) & (ratio <= 2.0 + 1e-6))
    for i in range(8):
        ref = ref_affine(x[i].numpy(), theta[i].numpy(), (7, 5), mode="nearest")
        assert np.allclose(out[i].numpy(), ref, atol=1e-6)


def test_resized_crop_pixel_aligned_box_is_a_slice():
    # a crop of rows [2, 6) and columns [3, 9) of a 12x12 image at its own size is exact slicing
    x = batch(b=2, h=12, w=12)
    H = W = 12
    top, left, hh, ww = 2, 3, 4, 6
    theta = torch.tensor([[ww / W, 0.0, 2 * left / W + ww / W - 1], [0.0, hh / H, 2 * top / H + hh / H - 1]])
    out = RandomResizedCrop(size=(hh, ww)).apply(x, {"theta": theta.expand(2, 2, 3)})
    assert torch.allclose(out, x[:, :, top:top + hh, left:left + ww], atol=1e-6)


# ------------------------------------------------------------------ identities
def test_identity_settings():
    x = batch()
    assert torch.equal(RandomCircularShift(0)(x, gen(0)), x)
    assert torch.equal(RandomIntensity(1.0, 1.0)(x, gen(0)), x)
    assert torch.equal(GaussianNoise(0.0)(x, gen(0)), x)
    assert torch.equal(RandomErase(2, p=0.0)(x, gen(0)), x)
    assert torch.equal(RandomHorizontalFlip(0.0)(x, gen(0)), x)
    assert torch.allclose(RandomRotation(0.0)(x, gen(0)), x, atol=1e-6)
    assert torch.allclose(RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))(x, gen(0)), x, atol=1e-6)
    assert torch.equal(RandomHorizontalFlip(1.0)(x, gen(0)), x.flip(-1))


# ------------------------------------------------------------------ randomness
@pytest.mark.parametrize("make", ALL)
def test_determinism_shapes_and_per_sample_params(make):
    aug = make()
    x = batch(b=32)
    a, b = aug(x, gen(11)), aug(x, gen(11))
    assert torch.equal(a, b)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert not torch.equal(aug(x, gen(12)), a)
    torch.manual_seed(3)
    c = aug(x)
    torch.manual_seed(3)
    assert torch.equal(aug(x), c)
    # parameters differ across the batch: the same image repeated gives different outputs
    same = x[:1].expand(32, -1, -1, -1).contiguous()
    out = aug(same, gen(13))
    distinct = {tuple(o.flatten().round(decimals=5).tolist()) for o in out}
    assert len(distinct) > 1
    params = aug.sample_params(x, gen(14))
    for v in params.values():
        assert v.shape[0] == 32


def test_simclr_views_and_presets():
    x = batch(b=8, c=1, h=16, w=16)
    aug = SimCLRAugment.for_canvas()
    assert [type(t).__name__ for t in aug.transforms] == ["RandomCircularShift", "RandomIntensity",
                                                          "GaussianNoise"]
    assert aug.transforms[0].max_shift == 4 and aug.transforms[2].std == 0.05
    v1, v2 = aug.two_views(x, gen(0))
    assert v1.shape == v2.shape == x.shape
    assert not torch.equal(v1, v2)
    w1, w2 = aug.two_views(x, gen(0))
    assert torch.equal(v1, w1) and torch.equal(v2, w2)
    views = aug.views(x, 3, gen(1))
    assert len(views) == 3 and all(v.shape == x.shape for v in views)
    fm = SimCLRAugment.for_fashion_mnist()
    assert [type(t).__name__ for t in fm.transforms] == ["RandomResizedCrop", "RandomHorizontalFlip",
                                                         "RandomIntensity", "GaussianNoise"]
    assert fm(torch.rand(4, 1, 28, 28), gen(2)).shape == (4, 1, 28, 28)
    assert SimCLRAugment.for_digits()(torch.rand(4, 1, 8, 8), gen(2)).shape == (4, 1, 8, 8)
    # a composition equals applying its parts in order with the same generator stream
    g1, g2 = gen(5), gen(5)
    ref = aug.transforms[2](aug.transforms[1](aug.transforms[0](x, g2), g2), g2)
    assert torch.equal(aug(x, g1), ref)


def test_validation():
    with pytest.raises(ValueError, match="x"):
        RandomIntensity()(torch.rand(1, 8, 8))
    with pytest.raises(TypeError, match="x"):
        RandomCircularShift()(torch.zeros(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="max_shift"):
        RandomCircularShift(-1)
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(scale=(0.9, 0.5))
    with pytest.raises(ValueError, match="p"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="x"):
        RandomErase(size=9)(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="m"):
        SimCLRAugment.for_canvas().views(torch.rand(2, 1, 8, 8), 0)
    with pytest.raises(TypeError, match="transforms"):
        SimCLRAugment([lambda x: x])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("make", ALL)
def test_cuda_input_with_cpu_generator_matches_cpu(make):
    # parameters are drawn on the generator's device, so a CPU generator gives the same views on GPU
    aug = make()
    x = batch(b=8)
    cpu = aug(x, gen(21))
    gpu = aug(x.cuda(), gen(21))
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-5)
