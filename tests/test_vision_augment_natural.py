"""Natural-image views (kornia): presets' shapes, range, device, determinism, and hand references."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("kornia")
import kornia.augmentation as K  # noqa: E402

from contrastkit.vision.augment import (  # noqa: E402
    KorniaAugment,
    MultiViewAugment,
    blur_kernel_size,
    byol_augment,
    dino_multicrop,
    natural_view,
    simclr_augment,
)


def images(b=6, c=3, h=20, w=20, seed=0):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("make", [lambda: simclr_augment(16), lambda: byol_augment(16),
                                  lambda: dino_multicrop(16, 8, 3)])
def test_presets_shape_range_dtype(make):
    out = make()(images(), gen(0))
    views = out if isinstance(out, list) else [out]
    for v in views:
        assert v.dtype == torch.float32 and v.shape[:2] == (6, 3)
        assert float(v.min()) >= 0.0 and float(v.max()) <= 1.0 + 1e-6
        assert torch.isfinite(v).all()


def test_multicrop_shapes_global_first():
    views = dino_multicrop(global_size=18, local_size=(8, 10), n_local=4)(images())
    assert [tuple(v.shape[-2:]) for v in views] == [(18, 18)] * 2 + [(8, 10)] * 4
    assert len(dino_multicrop(16, 8, 0)) == 2


def test_seeded_generator_is_deterministic_and_keeps_global_rng():
    x = images()
    aug = simclr_augment(16)
    state = torch.get_rng_state()
    a, b = aug(x, gen(3)), aug(x, gen(3))
    assert torch.equal(a, b)
    assert torch.equal(state, torch.get_rng_state())  # the caller's global RNG is untouched
    assert not torch.equal(a, aug(x, gen(4)))
    v = byol_augment(16)(x, gen(5))
    w = byol_augment(16)(x, gen(5))
    assert all(torch.equal(p, q) for p, q in zip(v, w, strict=True))


def test_sample_then_apply_equals_forward():
    x = images()
    aug = natural_view(16)
    params = aug.sample_params(x, gen(7))
    assert torch.equal(aug.apply(x, params), aug(x, gen(7)))


def test_p_zero_full_crop_is_identity():
    x = images()
    aug = natural_view(20, scale=(1.0, 1.0), p_jitter=0, p_gray=0, p_blur=0, p_flip=0)
    torch.testing.assert_close(aug(x, gen(0)), x, atol=1e-6, rtol=0)


def test_solarize_and_grayscale_match_hand_formulas():
    x = images()
    full = {"scale": (1.0, 1.0), "p_jitter": 0, "p_flip": 0, "p_blur": 0}
    sol = natural_view(20, p_gray=0, p_solarize=1.0, **full)(x)
    torch.testing.assert_close(sol, torch.where(x >= 0.5, 1.0 - x, x), atol=1e-6, rtol=0)
    gray = natural_view(20, p_gray=1.0, **full)(x)
    ref = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None].expand_as(x)
    torch.testing.assert_close(gray, ref, atol=1e-3, rtol=0)


def test_flip_matches_torch_flip_per_sample():
    x = images(b=32)
    aug = KorniaAugment(K.RandomHorizontalFlip(p=0.5))
    out = aug(x, gen(1))
    flipped = [bool(torch.equal(o, xi.flip(-1))) for o, xi in zip(out, x, strict=True)]
    for o, xi, f in zip(out, x, flipped, strict=True):
        assert torch.equal(o, xi.flip(-1) if f else xi)
    assert 0 < sum(flipped) < 32


def test_blur_kernel_is_ten_percent_odd():
    assert blur_kernel_size(224) == 23 and blur_kernel_size(96) == 9 and blur_kernel_size(16) == 3


def test_views_differ_between_samples_and_calls():
    x = images(b=2).repeat(4, 1, 1, 1)  # the same two images four times
    v = simclr_augment(16)(x, gen(0))
    assert not torch.equal(v[0], v[2])  # per-sample parameters


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="x: colour jitter"):
        simclr_augment(16)(images(c=1))
    with pytest.raises(ValueError, match="size:"):
        simclr_augment(0)
    with pytest.raises(ValueError, match="p_blur"):
        natural_view(16, p_blur=1.5)
    with pytest.raises(ValueError, match="n_local"):
        dino_multicrop(16, 8, -1)
    with pytest.raises(TypeError, match="views\\[0\\]"):
        MultiViewAugment([torch.nn.Identity()])
    with pytest.raises(TypeError, match="x:"):
        simclr_augment(16)([1, 2])


def test_missing_kornia_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "kornia.augmentation", None)
    with pytest.raises(ImportError, match=r"contrastkit\[vision\]"):
        simclr_augment(16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_is_kept_on_cuda():
    x = images().cuda()
    for v in dino_multicrop(16, 8, 2)(x, torch.Generator().manual_seed(0)):
        assert v.device == x.device


def test_float64_input_keeps_dtype_and_device():
    x = images().double()
    v = simclr_augment(16)(x, gen(0))
    assert v.device == x.device and v.dtype == torch.float64
