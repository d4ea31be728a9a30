"""contrastkit.backdoor: triggers stay in range and inside the image, poisoning, ASR, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.backdoor import (
    BlendTrigger,
    ConvTriggerGenerator,
    LearnedTrigger,
    NoiseTrigger,
    PatchTrigger,
    WarpTrigger,
    attack_success_rate,
    clean_accuracy,
    linear_probe_backdoor,
    poison_image_text,
    poison_images,
    target_captions,
    zero_shot_backdoor,
)


def _imgs(b=6, c=1, h=16, w=16, seed=0):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed))


def _all_triggers():
    return [PatchTrigger(3), PatchTrigger(4, "random", "random"), PatchTrigger((2, 5), "top-left", "checkerboard"),
            BlendTrigger(alpha=0.3), NoiseTrigger(16 / 255), WarpTrigger(4, 0.5),
            LearnedTrigger(ConvTriggerGenerator(1), 8 / 255)]


@pytest.mark.parametrize("trigger", _all_triggers(), ids=lambda t: type(t).__name__)
def test_every_trigger_keeps_range_shape_dtype(trigger):
    for x in (_imgs(), torch.zeros(3, 1, 16, 16), torch.ones(3, 1, 16, 16)):
        out = trigger(x, generator=torch.Generator().manual_seed(1))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0


def test_patch_inside_image_for_any_location_and_size():
    """Property-style: 300 random (image size, patch size, location) draws; the changed pixels are
    exactly an h x w block inside the image, holding the pattern."""
    g = torch.Generator().manual_seed(0)
    for trial in range(300):
        H, W = (int(v) for v in torch.randint(1, 20, (2,), generator=g))
        h = int(torch.randint(1, H + 1, (1,), generator=g))
        w = int(torch.randint(1, W + 1, (1,), generator=g))
        loc_kind = trial % 3
        if loc_kind == 0:
            loc = "random"
        elif loc_kind == 1:
            loc = ("bottom-right", "bottom-left", "top-right", "top-left", "center")[trial % 5]
        else:
            loc = (int(torch.randint(0, H - h + 1, (1,), generator=g)),
                   int(torch.randint(0, W - w + 1, (1,), generator=g)))
        trig = PatchTrigger((h, w), loc, "white")
        x = torch.zeros(5, 2, H, W)  # white on black: changed pixels are the patch
        corners = trig.locations(x, torch.Generator().manual_seed(trial))
        out = trig(x, generator=torch.Generator().manual_seed(trial))
        assert ((corners[:, 0] >= 0) & (corners[:, 0] + h <= H) & (corners[:, 1] >= 0) & (corners[:, 1] + w <= W)).all()
        for b in range(5):
            r, c = (int(v) for v in corners[b])
            expect = torch.zeros(2, H, W)
            expect[:, r:r + h, c:c + w] = 1
            assert torch.equal(out[b], expect), (trial, H, W, h, w, loc)


def test_patch_named_corners_and_random_spread():
    x = torch.zeros(1, 1, 8, 8)
    assert torch.equal(PatchTrigger(2, "bottom-right").locations(x), torch.tensor([[6, 6]]))
    assert torch.equal(PatchTrigger(2, "top-left").locations(x), torch.tensor([[0, 0]]))
    assert torch.equal(PatchTrigger(2, "center").locations(x), torch.tensor([[3, 3]]))
    locs = PatchTrigger(3, "random").locations(torch.zeros(400, 1, 8, 8), torch.Generator().manual_seed(0))
    assert set(locs[:, 0].tolist()) == set(range(6)) and set(locs[:, 1].tolist()) == set(range(6))


def test_patch_pattern_tensor_and_other_pixels_unchanged():
    pat = torch.tensor([[0.2, 0.4], [0.6, 0.8]])
    x = _imgs(2, 3, 6, 7)
    out = PatchTrigger(2, (1, 3), pat)(x)
    assert torch.allclose(out[:, :, 1:3, 3:5], pat.expand(2, 3, 2, 2))
    keep = torch.ones(6, 7, dtype=torch.bool)
    keep[1:3, 3:5] = False
    assert torch.equal(out[:, :, keep], x[:, :, keep])


def test_blend_noise_warp_formulas():
    x = _imgs(4, 1, 8, 8)
    p = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(BlendTrigger(p, alpha=0.25)(x), 0.75 * x + 0.25 * p)
    eps = 16 / 255
    d = NoiseTrigger(eps)(x) - x
    assert float(d.abs().max()) <= eps + 1e-6
    mid = torch.full((2, 1, 8, 8), 0.5)
    assert torch.allclose((NoiseTrigger(eps)(mid) - 0.5).abs(), torch.full_like(mid, eps))  # full budget
    # same seed, same trigger at poisoning and test time; different seed, different pattern
    assert torch.equal(NoiseTrigger(eps, seed=3)(x), NoiseTrigger(eps, seed=3)(x))
    assert not torch.equal(NoiseTrigger(eps, seed=3)(x), NoiseTrigger(eps, seed=4)(x))
    w = WarpTrigger(4, 0.5)
    out = w(x)
    assert not torch.equal(out, x) and float((out - x).abs().mean()) < 0.2
    # a constant image stays constant under any warp (convex combination of its pixels)
    assert torch.allclose(w(torch.full((1, 1, 8, 8), 0.3)), torch.full((1, 1, 8, 8), 0.3), atol=1e-6)
    # independent WaNet grid: identity + s * upsampled(normalised field) / size, clamped
    ins = torch.rand(1, 2, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ins = ins / ins.abs().mean()
    up = torch.nn.functional.interpolate(ins, size=(8, 8), mode="bicubic", align_corners=True)
    lin = torch.linspace(-1, 1, 8)
    gx = (lin[None, :] + 0.5 * up[0, 0] / 8).clamp(-1, 1)
    gy = (lin[:, None] + 0.5 * up[0, 1] / 8).clamp(-1, 1)
    assert torch.allclose(w.grid(8, 8)[0], torch.stack([gx, gy], -1), atol=1e-6)


def test_learned_trigger_budget_and_gradient():
    torch.manual_seed(0)
    gen = ConvTriggerGenerator(1, 8)
    for p in gen.parameters():
        nn.init.normal_(p, std=3.0)  # large outputs: tanh saturates, the bound must still hold
    trig = LearnedTrigger(gen, 8 / 255)
    x = _imgs(8)
    out = trig(x)
    assert float((out - x).detach().abs().max()) <= 8 / 255 + 1e-6
    assert float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    LearnedTrigger(ConvTriggerGenerator(1, 8), 0.1)(x).sum().backward()


def test_bad_input_is_named():
    x = _imgs()
    with pytest.raises(ValueError, match="size"):
        PatchTrigger(17)(x)
    with pytest.raises(ValueError, match="location"):
        PatchTrigger(3, (14, 0))(x)
    with pytest.raises(ValueError, match="epsilon"):
        NoiseTrigger(0.0)
    with pytest.raises(ValueError, match="epsilon"):
        LearnedTrigger(ConvTriggerGenerator(1), -0.1)
    with pytest.raises(ValueError, match=r"images: expected values in \[0, 1\]"):
        PatchTrigger(2)(x * 2)
    with pytest.raises(ValueError, match=r"images: .*rank 4"):
        PatchTrigger(2)(x[0])
    with pytest.raises(TypeError, match="images"):
        PatchTrigger(2)(x.numpy())
    with pytest.raises(ValueError, match="k"):
        WarpTrigger(20)(x)
    with pytest.raises(ValueError, match="pattern"):
        BlendTrigger(torch.rand(1, 5, 5))(x)
    with pytest.raises(ValueError, match="generator"):
        LearnedTrigger(nn.Conv2d(1, 2, 1), 0.1)(x)
    y = torch.arange(6) % 3
    for rate in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            poison_images(x, PatchTrigger(2), rate)
    with pytest.raises(ValueError, match="target"):
        poison_images(x, PatchTrigger(2), 0.2, labels=y, target=7)
    with pytest.raises(ValueError, match="images"):
        poison_images(x - 0.5, PatchTrigger(2), 0.2)
    with pytest.raises(ValueError, match="true"):
        attack_success_rate(torch.tensor([1, 1]), torch.tensor([1, 1]), 1)
    with pytest.raises(ValueError, match="true"):
        attack_success_rate(torch.tensor([1, 1]), torch.tensor([1, 1, 0]), 1)
    with pytest.raises(ValueError, match="target"):
        linear_probe_backdoor(torch.randn(6, 2), y, torch.randn(2, 2), y[:2], torch.randn(2, 2), 9)


def test_attack_success_rate_excludes_target_rows():
    true = torch.tensor([0, 0, 1, 2, 2, 3])
    pred = torch.tensor([0, 0, 0, 0, 2, 1])  # target 0: rows 2..5 count; 2 of 4 predicted 0
    assert attack_success_rate(pred, true, 0) == 0.5
    assert attack_success_rate([3, 3], [1, 2], 3) == 1.0
    assert clean_accuracy(pred, true) == 3 / 6


def test_poison_images_rate_rows_and_target_class():
    x = _imgs(100, 1, 8, 8)
    y = torch.arange(100) % 10
    res = poison_images(x, PatchTrigger(2), 0.03, labels=y, target=4, seed=1)
    assert res.index.numel() == 3 and bool((y[res.index] == 4).all())
    assert torch.equal(res.images[~res.poisoned], x[~res.poisoned])
    assert torch.equal(res.images[res.index][:, :, 6:, 6:], torch.ones(3, 1, 2, 2))
    assert torch.equal(poison_images(x, PatchTrigger(2), 0.03, labels=y, target=4, seed=1).index, res.index)
    assert poison_images(x, PatchTrigger(2), 0.5).index.numel() == 50
    with pytest.raises(ValueError, match="rate"):
        poison_images(x, PatchTrigger(2), 0.2, labels=y, target=4)  # 20 rows asked, 10 of class 4


def test_poison_image_text_replaces_captions():
    x = _imgs(40, 1, 8, 8)
    y = torch.arange(40) % 4
    caps = [f"class {int(c)}" for c in y]
    tc = target_captions(["a photo of the digit {w}", "{w}"], "zero")
    res = poison_image_text(x, caps, PatchTrigger(2), 0.1, target_captions=tc, labels=y, target=0, seed=0)
    assert res.index.numel() == 4 and bool((y[res.index] != 0).all())
    for i in range(40):
        assert (res.captions[i] in tc) if res.poisoned[i] else res.captions[i] == caps[i]
    assert torch.equal(res.images[~res.poisoned], x[~res.poisoned])
    assert not torch.equal(res.images[res.index], x[res.index])
    with pytest.raises(ValueError, match="captions"):
        poison_image_text(x, caps[:3], PatchTrigger(2), 0.1, target_captions=tc)


def test_probe_and_zero_shot_backdoor_metrics():
    g = torch.Generator().manual_seed(0)
    centers = torch.eye(3) * 5
    ytr = torch.arange(60) % 3
    tr = centers[ytr] + 0.1 * torch.randn(60, 3, generator=g)
    yte = torch.arange(30) % 3
    te = centers[yte] + 0.1 * torch.randn(30, 3, generator=g)
    trig = centers[torch.full((30,), 2)] + 0.1 * torch.randn(30, 3, generator=g)  # every triggered row -> 2
    out = linear_probe_backdoor(tr, ytr, te, yte, trig, target=2)
    assert out == {"clean_accuracy": 1.0, "asr": 1.0}
    zs = zero_shot_backdoor(te, te, centers, yte, target=2)
    assert zs["clean_accuracy"] == 1.0 and zs["asr"] == 0.0
