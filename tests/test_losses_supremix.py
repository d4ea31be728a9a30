"""SupReMix vs a naive triple loop (mixtures), SupCon reduction, weights, Beta presets."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE
from contrastkit.losses.supremix import (
    SupReMix,
    beta_preset,
    negative_mixture_mask,
    positive_mixture_mask,
)
from tests.naive import supcon_loop


def test_positive_mixtures_match_a_naive_triple_loop():
    y = torch.tensor([1.0, 2.0, 3.0, 5.0]).repeat(2)  # two views
    mask, alpha = positive_mixture_mask(y, 3.0)
    found = {(i, j, k) for i, j, k in mask.nonzero().tolist()}
    expected = set()
    for i, j, k in itertools.product(range(8), repeat=3):
        if y[j] < y[i] < y[k] and y[i] - y[j] < 3 and y[k] - y[i] < 3:
            expected.add((i, j, k))
    assert found == expected
    anchor2 = {(j, k) for i, j, k in found if float(y[i]) == 2.0}
    assert {(float(y[j]), float(y[k])) for j, k in anchor2} == {(1.0, 3.0)}  # y=5 is outside the window
    assert len([t for t in found if t[0] == 1]) == 4  # (y=1, y=3) pairs over both views
    for i, j, k in found:
        assert float(alpha[i, j, k]) == pytest.approx(float((y[k] - y[i]) / (y[k] - y[j])))
        assert float(alpha[i, j, k] * y[j] + (1 - alpha[i, j, k]) * y[k]) == pytest.approx(float(y[i]))
    assert (1, 0, 2) in found and float(alpha[1, 0, 2]) == pytest.approx(0.5)
    neg = negative_mixture_mask(y)
    assert not torch.any(neg & (y[None, :] == y[:, None]))


def test_without_mixtures_and_weights_it_is_supcon():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 0, 2, 1, 3])
    ours = SupReMix(0.3, use_weight=False, mix_negatives=False, mix_positives=False)(a, b, labels=y.double())
    z = torch.cat([a, b])
    ids = y.repeat(2).tolist()
    ref = supcon_loop(z, z, ids, ids, list(range(12)), 0.3).reshape(2, 6).mean(0).mean()
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours, InfoNCE(0.3)(a, b, labels=y))
    for x, r in zip(torch.autograd.grad(ours, (a, b)), torch.autograd.grad(ref, (a, b)), strict=True):
        torch.testing.assert_close(x, r)


def _naive(z, y, tau, window, lam, use_weight=True):
    """Materialised mixtures (detached), loop over anchors: the paper's formula."""
    z = F.normalize(z, dim=1)
    zd = z.detach()
    m = z.shape[0]
    out = []
    for i in range(m):
        terms, labels, positive = [], [], []
        for j in range(m):
            if j != i:
                terms.append(torch.dot(z[i], z[j]) / tau)
                labels.append(float(y[j]))
                positive.append(float(y[j]) == float(y[i]))
        for k in range(m):
            if float(y[k]) != float(y[i]):
                mix = lam[i, k] * zd[i] + (1 - lam[i, k]) * zd[k]
                terms.append(torch.dot(z[i], mix) / tau)
                labels.append(float(lam[i, k] * y[i] + (1 - lam[i, k]) * y[k]))
                positive.append(False)
        for j in range(m):
            for k in range(m):
                if y[j] < y[i] < y[k] and y[i] - y[j] < window and y[k] - y[i] < window:
                    al = (y[k] - y[i]) / (y[k] - y[j])
                    terms.append(torch.dot(z[i], al * zd[j] + (1 - al) * zd[k]) / tau)
                    labels.append(float(y[i]))
                    positive.append(True)
        w = [abs(float(y[i]) - lab) + 1 if use_weight else 1.0 for lab in labels]
        mx = max(float(t.detach()) for t in terms)
        lse = mx + torch.log(sum(wa * torch.exp(t - mx) for wa, t in zip(w, terms, strict=True)))
        pos = [t for t, p in zip(terms, positive, strict=True) if p]
        out.append(-sum(t - lse for t in pos) / len(pos))
    return torch.stack(out)


@pytest.mark.parametrize("use_weight", [True, False])
def test_full_loss_matches_materialised_mixtures(use_weight):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.1, 0.3, 0.2, 0.5, 0.35], dtype=torch.float64)
    lam = torch.distributions.Beta(2.0, 8.0).sample((10, 10)).double()
    ours = SupReMix(0.3, window=0.2, use_weight=use_weight)(a, b, labels=y, mix_lambda=lam)
    ref = _naive(torch.cat([a, b]), y.repeat(2), 0.3, 0.2, lam, use_weight).reshape(2, 5).mean(0).mean()
    torch.testing.assert_close(ours, ref)
    for x, r in zip(torch.autograd.grad(ours, (a, b)), torch.autograd.grad(ref, (a, b)), strict=True):
        torch.testing.assert_close(x, r)


def test_weights_are_one_on_same_label_terms():
    # all labels equal: every denominator term is a same-label row, so the weight changes nothing
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.full((4,), 0.5)
    on = SupReMix(0.3, use_weight=True)(a, b, labels=y)
    off = SupReMix(0.3, use_weight=False)(a, b, labels=y)
    torch.testing.assert_close(on, off)


def test_beta_presets_and_bad_input():
    assert beta_preset(0) == (2.0, 8.0) and beta_preset(1) == (8.0, 2.0) and beta_preset(2) == (5.0, 5.0)
    with pytest.raises(ValueError, match="option"):
        beta_preset(3)
    with pytest.raises(ValueError, match="labels"):
        SupReMix()(torch.randn(4, 3), labels=torch.tensor([0.0, float("nan"), 1.0, 2.0]))
    with pytest.raises(ValueError, match="labels"):
        SupReMix()(torch.randn(4, 3), labels=torch.zeros(3))
    with pytest.raises(TypeError, match="beta"):
        SupReMix(beta=2.0)
    out = SupReMix(normalize_mixtures=True)(torch.randn(6, 3).half(), torch.randn(6, 3).half(),
                                            labels=torch.rand(6))
    assert out.dtype == torch.float32 and torch.isfinite(out)
