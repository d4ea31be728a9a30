"""CleanCLIP: the objective against a naive computation and the hand value, the module, the claims."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.papers.cleanclip.module import cleanclip_terms


def _ce_rows(logits: torch.Tensor) -> float:
    """Naive mean over rows of -log softmax(row)[i], a Python loop."""
    total = 0.0
    for i in range(logits.shape[0]):
        row = [float(v) for v in logits[i]]
        m = max(row)
        total += -(row[i] - m - math.log(sum(math.exp(v - m) for v in row)))
    return total / logits.shape[0]


def _unit(x):
    return x / x.norm(dim=1, keepdim=True)


def _naive(i, t, ia, ta, s, l1, l2):
    i, t, ia, ta = _unit(i), _unit(t), _unit(ia), _unit(ta)
    clip = 0.5 * (_ce_rows(s * i @ t.T) + _ce_rows(s * t @ i.T))
    ss = 0.5 * (_ce_rows(s * i @ ia.T) + _ce_rows(s * t @ ta.T))
    return l1 * clip + l2 * ss, clip, ss


def test_clip_term_hand_value():
    z1 = torch.tensor([[1, 0, 0], [.6, .8, 0], [0, .6, .8]])
    z2 = torch.tensor([[.8, .6, 0], [0, 1, 0], [.6, 0, .8]])
    out = cleanclip_terms(z1, z2, None, None, logit_scale=2.0, inmodal_weight=0.0)
    assert float(out["loss"]) == pytest.approx(0.855956, abs=1e-6)
    assert float(out["inmodal"]) == 0.0


@pytest.mark.parametrize("l1,l2", [(1.0, 1.0), (1.0, 4.0), (0.5, 0.0)])
def test_objective_equals_naive_loops(l1, l2):
    g = torch.Generator().manual_seed(0)
    i, t, ia, ta = (torch.randn(7, 5, generator=g) * 3 for _ in range(4))
    s = 7.3
    total, clip, ss = _naive(i, t, ia, ta, s, l1, l2)
    out = cleanclip_terms(i, t, ia, ta, logit_scale=s, clip_weight=l1, inmodal_weight=l2)
    assert float(out["loss"]) == pytest.approx(total, rel=1e-5)
    assert float(out["clip"]) == pytest.approx(clip, rel=1e-5)
    if l2:
        assert float(out["inmodal"]) == pytest.approx(ss, rel=1e-5)


def test_one_logit_scale_shared_by_both_terms_gradient():
    """d loss / d log s from the library equals autograd through a dense reference with one s."""
    g = torch.Generator().manual_seed(1)
    i, t, ia, ta = (torch.randn(6, 4, generator=g) for _ in range(4))
    log_s = torch.tensor(1.7, requires_grad=True)
    cleanclip_terms(i, t, ia, ta, logit_scale=log_s.exp())["loss"].backward()
    ref_log_s = torch.tensor(1.7, requires_grad=True)
    s = ref_log_s.exp()
    u = [torch.nn.functional.normalize(v, dim=1) for v in (i, t, ia, ta)]
    lab = torch.arange(6)
    ce = torch.nn.functional.cross_entropy
    ref = 0.5 * (ce(s * u[0] @ u[1].T, lab) + ce(s * u[1] @ u[0].T, lab)) \
        + 0.5 * (ce(s * u[0] @ u[2].T, lab) + ce(s * u[1] @ u[3].T, lab))
    ref.backward()
    assert float(log_s.grad) == pytest.approx(float(ref_log_s.grad), rel=1e-5)


def test_bad_arguments_are_named():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="image_aug"):
        cleanclip_terms(x, x, None, None, logit_scale=2.0)
    with pytest.raises(ValueError, match="inmodal_weight"):
        cleanclip_terms(x, x, x, x, logit_scale=2.0, inmodal_weight=-1.0)


def test_decide_reads_the_numbers():
    from contrastkit.papers._claims import load_recipe
    from contrastkit.papers.cleanclip.reproduce import RECIPE, decide

    cfg = load_recipe(RECIPE)
    ca = {"poisoned": [0.97, 0.98, 0.96], "clip_ft": [0.97, 0.98, 0.97], "cleanclip": [0.97, 0.975, 0.965]}
    good = {"poisoned": [0.9, 0.85, 0.8], "clip_ft": [0.7, 0.72, 0.65], "cleanclip": [0.3, 0.35, 0.28]}
    r = decide(cfg, ca, good, quick=False)
    assert r.outcome() == "pass", r.summary()
    weak = dict(good, cleanclip=[0.66, 0.70, 0.60])  # only ~4 points below CLIP-only fine-tuning
    assert decide(cfg, ca, weak, quick=False).outcome() == "fail"
    no_attack = dict(good, poisoned=[0.2, 0.3, 0.25])
    assert decide(cfg, ca, no_attack, quick=False).outcome() == "not testable"


def test_quick_reproduction_smoke():
    from contrastkit.papers.cleanclip.reproduce import reproduce

    r = reproduce(quick=True)
    assert r.quick and set(r.metrics["asr"]) == {"poisoned", "clip_ft", "cleanclip"}
    assert all(0.0 <= v[0] <= 1.0 for v in r.metrics["clean_accuracy"].values())
    # one seed evaluates nothing: never PASSED above an unmet claim
    assert r.outcome() == "smoke"
    assert r.summary().splitlines()[0] == "cleanclip (quick): smoke run: claims not evaluated"
