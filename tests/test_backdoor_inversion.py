"""Backdoor target identification and trigger inversion (InverTune stages 1-2) on hand-made cases."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.backdoor import attack_success_rate
from contrastkit.backdoor.inversion import (
    InversionWeights,
    apply_mask,
    class_ce,
    class_prototypes,
    identify_target,
    inversion_loss,
    invert_trigger,
    paste_patch,
    patch_box,
    predict,
    universal_patch,
)

BOX = (13, 13, 3)  # the planted patch: rows/cols 13..15 of a 16 x 16 image


def _patch_mean(x: torch.Tensor) -> torch.Tensor:
    r, c, s = BOX
    return x[:, :, r:r + s, c:c + s].mean(dim=(1, 2, 3))


def _toy_backdoor(x: torch.Tensor) -> torch.Tensor:
    """A 'model' with two classes whose embedding turns to class 1 only when the corner patch is bright:
    z = (1 - 2 p, 2 p) with p the patch's mean intensity (cosine head: class 1 iff p > 0.5 / (1 + ...))."""
    p = _patch_mean(x)
    return torch.stack([1 - 2 * p, 2 * p], dim=1)


CLASS_EMB = torch.eye(2)


def _clean(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 0.3


def test_apply_mask_endpoints():
    x, delta = _clean(4), torch.rand(1, 16, 16)
    assert torch.equal(apply_mask(x, torch.zeros(1, 16, 16), delta), x)
    assert torch.allclose(apply_mask(x, torch.ones(1, 16, 16), delta), delta.expand_as(x))


def test_identify_target_on_a_count_table():
    # 10 images: clean predictions 4 x class 0, 3 x class 1, 3 x class 2; patched: 2, 1, 7
    clean = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    patched = torch.tensor([0, 0, 1, 2, 2, 2, 2, 2, 2, 2])
    rep = identify_target(clean, patched, 4, top=3)
    assert rep.target == 2
    assert rep.clean_share == pytest.approx([0.4, 0.3, 0.3, 0.0])
    assert rep.patched_share == pytest.approx([0.2, 0.1, 0.7, 0.0])
    assert rep.increase == pytest.approx([-0.2, -0.2, 0.4, 0.0])
    assert rep.top == [2, 3, 0]  # ties (-0.2) go to the lower class id


def test_identify_target_bad_input():
    with pytest.raises(ValueError, match="patched_pred"):
        identify_target(torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 2)
    with pytest.raises(ValueError, match="patched_pred"):
        identify_target(torch.tensor([0, 1]), torch.tensor([0, 5]), 2)


def test_class_ce_equals_naive_cross_entropy():
    g = torch.Generator().manual_seed(3)
    z, t = torch.randn(5, 4, generator=g), torch.randn(3, 4, generator=g)
    y = torch.tensor([0, 2, 1, 1, 0])
    total = 0.0
    for i in range(5):
        zi = z[i] / z[i].norm()
        row = [float(zi @ (t[k] / t[k].norm())) / 0.07 for k in range(3)]
        m = max(row)
        total += -(row[int(y[i])] - m - math.log(sum(math.exp(v - m) for v in row)))
    assert float(class_ce(z, t, y)) == pytest.approx(total / 5, rel=1e-5)


def test_class_prototypes_are_normalised_class_means():
    x = torch.stack([torch.full((1, 2, 2), v) for v in (0.1, 0.2, 0.9, 1.0)])
    proto = class_prototypes(lambda b: torch.cat([b.flatten(1)[:, :1], 1 - b.flatten(1)[:, :1]], 1), x,
                             torch.tensor([0, 0, 1, 1]))
    z = torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [1.0, 0.0]])
    z = z / z.norm(dim=1, keepdim=True)
    assert torch.allclose(proto, torch.stack([z[:2].mean(0), z[2:].mean(0)]), atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        class_prototypes(lambda b: b.flatten(1), x, torch.tensor([0, 0, 2, 2]))


def test_patch_box_corners_and_errors():
    assert patch_box(16, 16, 3, "bottom-right", 1) == (12, 12)
    assert patch_box(16, 16, 3, "top-left", 0) == (0, 0)
    assert patch_box(16, 20, 4, "top-right", 2) == (2, 14)
    with pytest.raises(ValueError, match="size"):
        patch_box(16, 16, 17)
    with pytest.raises(ValueError, match="location"):
        patch_box(16, 16, 3, "middle")


def test_universal_patch_finds_the_planted_target():
    """An untargeted patch at the corner drives the toy backdoored model to its target class 1."""
    x = _clean(64)
    y = torch.zeros(64, dtype=torch.long)  # every clean image is class 0 (the toy model agrees)
    assert bool((predict(_toy_backdoor, CLASS_EMB, x) == 0).all())
    patch, box = universal_patch(_toy_backdoor, CLASS_EMB, x, y, size=3, location="bottom-right", steps=30)
    assert box == (13, 13) and patch.min() >= 0 and patch.max() <= 1
    rep = identify_target(predict(_toy_backdoor, CLASS_EMB, x),
                          predict(_toy_backdoor, CLASS_EMB, paste_patch(x, patch, box)), 2)
    assert rep.target == 1 and rep.increase[1] > 0.9


def test_universal_patch_bad_input():
    x = _clean(4)
    with pytest.raises(ValueError, match="size"):
        universal_patch(_toy_backdoor, CLASS_EMB, x, torch.zeros(4, dtype=torch.long), size=20)
    with pytest.raises(ValueError, match="images"):
        universal_patch(_toy_backdoor, CLASS_EMB, x * 4, torch.zeros(4, dtype=torch.long), size=3)
    with pytest.raises(ValueError, match="class_emb"):
        universal_patch(_toy_backdoor, torch.ones(1, 2), x, torch.zeros(4, dtype=torch.long), size=3)


def test_inversion_recovers_the_planted_patch():
    """The inverted mask sits on the planted 3 x 3 corner, with a bright pattern, and fires the backdoor."""
    x = _clean(64)
    r, c, s = BOX
    target_images = x[:8].clone()
    target_images[:, :, r:, c:] = 1.0
    inv = invert_trigger(_toy_backdoor, CLASS_EMB, x, 1, target_images, steps=120, lr=0.05, batch_size=16, seed=0)
    inside = inv.mask[:, r:, c:].sum()
    assert float(inside / inv.mask.sum()) > 0.8  # the mask mass is on the planted patch
    assert inv.mask_fraction < 0.06  # about the patch's 9 of 256 pixels, not the whole image
    assert float((inv.pattern[:, r:, c:] * inv.mask[:, r:, c:]).sum() / inside) > 0.8  # bright pattern there
    fresh = _clean(64, seed=1)
    pred = predict(_toy_backdoor, CLASS_EMB, inv(fresh))
    assert attack_success_rate(pred, torch.zeros(64, dtype=torch.long), 1) == 1.0


def test_inversion_loss_terms():
    x = _clean(8)
    mask, pattern = torch.zeros(1, 16, 16), torch.rand(1, 16, 16)
    anchor = torch.tensor([[0.0, 1.0]])
    loss, terms = inversion_loss(_toy_backdoor, CLASS_EMB, x, 1, anchor, mask, pattern,
                                 InversionWeights(nce=1.0, emb=0.0, ssim=0.0, mask=0.0))
    # m = 0: x~ = x, so the loss is the clean images' cross-entropy at class 1 and SSIM is perfect
    assert float(loss) == pytest.approx(float(class_ce(_toy_backdoor(x), CLASS_EMB, torch.ones(8, dtype=torch.long))),
                                        rel=1e-6)
    assert terms["ssim"] == pytest.approx(0.0, abs=1e-5) and terms["mask_l1"] == 0.0
    _, terms = inversion_loss(_toy_backdoor, CLASS_EMB, x, 1, anchor, torch.full((1, 16, 16), 0.5), pattern)
    assert terms["mask_l1"] == pytest.approx(128.0)


def test_invert_trigger_bad_input():
    x = _clean(8)
    with pytest.raises(ValueError, match="target"):
        invert_trigger(_toy_backdoor, CLASS_EMB, x, 5, x, steps=1)
    with pytest.raises(ValueError, match="target_images"):
        invert_trigger(_toy_backdoor, CLASS_EMB, x, 1, torch.rand(2, 1, 8, 8), steps=1)
    with pytest.raises(ValueError, match="weights.mask"):
        InversionWeights(mask=-1.0)


@pytest.mark.parametrize("case,name", [
    ("init_mask_above_1", "init_mask"), ("init_mask_nan", "init_mask"), ("inv_batch_0", "batch_size"),
    ("uap_batch_0", "batch_size"), ("uap_float_size", "size"), ("uap_labels_beyond_classes", "labels"),
    ("top_0", "top"), ("paste_outside", "box"), ("paste_rank", "patch"), ("predict_outside_0_1", "images"),
])
def test_more_bad_input_names_the_argument(case, name):
    x = _clean(8)
    y = torch.zeros(8, dtype=torch.long)
    calls = {
        "init_mask_above_1": lambda: invert_trigger(_toy_backdoor, CLASS_EMB, x, 1, x, steps=1, init_mask=2.0),
        "init_mask_nan": lambda: invert_trigger(_toy_backdoor, CLASS_EMB, x, 1, x, steps=1, init_mask=math.nan),
        "inv_batch_0": lambda: invert_trigger(_toy_backdoor, CLASS_EMB, x, 1, x, steps=1, batch_size=0),
        "uap_batch_0": lambda: universal_patch(_toy_backdoor, CLASS_EMB, x, y, size=3, steps=1, batch_size=0),
        "uap_float_size": lambda: universal_patch(_toy_backdoor, CLASS_EMB, x, y, size=2.5, steps=1),
        "uap_labels_beyond_classes": lambda: universal_patch(_toy_backdoor, CLASS_EMB, x, y + 5, size=3, steps=1),
        "top_0": lambda: identify_target(torch.tensor([0, 1]), torch.tensor([1, 1]), 2, top=0),
        "paste_outside": lambda: paste_patch(x, torch.rand(1, 3, 3), (15, 15)),
        "paste_rank": lambda: paste_patch(x, torch.rand(3, 3), (0, 0)),
        "predict_outside_0_1": lambda: predict(_toy_backdoor, CLASS_EMB, x * 5),
    }
    with pytest.raises((ValueError, TypeError), match=f"^{name}: "):
        calls[case]()


def test_stages_leave_a_models_batchnorm_statistics_alone():
    """A model in train mode: the stages read it in eval mode (no running-statistics update from the
    patched / masked images, no dropout noise) and hand it back in train mode."""
    from contrastkit.vision.encoders import SmallCNN

    torch.manual_seed(0)
    net = SmallCNN(1, (4,)).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = _clean(16), torch.arange(16) % 2
    t = class_prototypes(net, x, y)
    universal_patch(net, t, x, y, size=3, steps=2)
    invert_trigger(net, t, x, 1, x, steps=2)
    predict(net, t, x)
    assert net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
