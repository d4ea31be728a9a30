"""InfoNCE family vs independent naive loops (float64, values and gradients to 1e-6)."""

import pytest
import torch

from contrastkit.losses import DCL, DCLW, HardNegativeInfoNCE, InfoNCE
from tests.naive import clip_loop, dclw_weights, ntxent_loop, supcon_loop

Z1 = torch.tensor([[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]], dtype=torch.float64)
Z2 = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8]], dtype=torch.float64)


def _pair(n=7, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    return a, b


def _grads(value, *xs):
    return torch.autograd.grad(value, xs)


def _assert_same(ours, ref, inputs):
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    for g1, g2 in zip(_grads(ours, *inputs), _grads(ref, *inputs), strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-6, atol=1e-6)


def test_hand_computed_values():
    assert InfoNCE(0.5)(Z1, Z2).item() == pytest.approx(1.215195, abs=1e-6)
    assert DCL(0.5)(Z1, Z2).item() == pytest.approx(0.855746, abs=1e-6)
    assert DCLW(0.5)(Z1, Z2).item() == pytest.approx(0.877176, abs=1e-6)


@pytest.mark.parametrize("tau", [0.07, 0.5, 2.0])
def test_ntxent_matches_loop(tau):
    a, b = _pair()
    _assert_same(InfoNCE(tau)(a, b), ntxent_loop(a, b, tau), (a, b))


def test_dcl_matches_loop_and_is_below_ntxent():
    a, b = _pair(seed=1)
    _assert_same(DCL(0.2)(a, b), ntxent_loop(a, b, 0.2, positives_in_denominator=False), (a, b))
    assert DCL(0.2)(a, b) < InfoNCE(0.2)(a, b)


def test_dclw_weights_and_value():
    a, b = _pair(seed=2)
    w = dclw_weights(a.detach(), b.detach(), 0.5)
    assert sum(w) / len(w) == pytest.approx(1.0)
    n = a.shape[0]
    z = torch.cat([a, b])
    ids = list(range(n)) * 2
    ref = supcon_loop(z, z, ids, ids, list(range(2 * n)), 0.1, False, pos_scale=w + w).mean()
    _assert_same(DCLW(0.1, sigma=0.5)(a, b), ref, (a, b))


def test_supcon_single_view_matches_loop():
    a, _ = _pair(n=9)
    labels = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2])
    ref = supcon_loop(a, a, labels, labels, list(range(9)), 0.3).mean()
    _assert_same(InfoNCE(0.3)(a, labels=labels), ref, (a,))


def test_supcon_two_view_matches_loop():
    a, b = _pair(n=6)
    labels = torch.tensor([3, 1, 3, -2, 1, -2])  # arbitrary ints, re-indexed internally
    z = torch.cat([a, b])
    ids = labels.repeat(2)
    ref = supcon_loop(z, z, ids, ids, list(range(12)), 0.2).mean()
    _assert_same(InfoNCE(0.2)(a, b, labels=labels), ref, (a, b))


def test_symmetric_clip_matches_loop():
    a, b = _pair(n=8)
    _assert_same(InfoNCE(0.07, mode="symmetric")(a, b), clip_loop(a, b, 0.07), (a, b))


def test_a_to_b_with_extra_negatives_matches_loop():
    a, b = _pair(n=5)
    neg = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    cand = torch.cat([b, neg])
    ref = supcon_loop(a, cand, list(range(5)), list(range(5)) + [-1] * 3, None, 0.05).mean()
    _assert_same(InfoNCE(0.05, mode="a_to_b")(a, b, negatives=neg), ref, (a, b, neg))


def test_two_view_with_extra_negatives_matches_loop():
    a, b = _pair(n=4)
    neg = torch.randn(2, 5, dtype=torch.float64)
    z = torch.cat([a, b])
    ids = list(range(4)) * 2
    ref = supcon_loop(z, torch.cat([z, neg]), ids, ids + [-1, -1], list(range(8)), 0.1).mean()
    _assert_same(InfoNCE(0.1)(a, b, negatives=neg), ref, (a, b))


def test_soft_weights_reduce_to_hard_positives():
    a, b = _pair(n=6)
    eye = torch.eye(6, dtype=torch.float64)
    loss = InfoNCE(0.1, mode="symmetric")
    torch.testing.assert_close(loss(a, b, weights=eye), loss(a, b))
    callable_weights = loss(a, b, weights=lambda rows, cols: eye[rows, cols])
    torch.testing.assert_close(callable_weights, loss(a, b))


def test_soft_weights_match_weighted_cross_entropy():
    a, b = _pair(n=5)
    w = torch.rand(5, 5, dtype=torch.float64)
    logits = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T / 0.2
    target = w / w.sum(1, keepdim=True)
    ref = -(target * torch.log_softmax(logits, 1)).sum(1).mean()
    _assert_same(InfoNCE(0.2, mode="a_to_b")(a, b, weights=w), ref, (a, b))


def test_reductions_are_consistent():
    a, b = _pair()
    none = InfoNCE(0.1, reduction="none")(a, b)
    assert none.shape == (7,)
    torch.testing.assert_close(none.mean(), InfoNCE(0.1)(a, b))
    torch.testing.assert_close(none.sum(), InfoNCE(0.1, reduction="sum")(a, b))


def test_learnable_temperature_gets_gradient():
    a, b = _pair()
    tau = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    loss = InfoNCE(mode="symmetric")(a, b, temperature=tau)
    (g,) = torch.autograd.grad(loss, tau)
    assert torch.isfinite(g) and g != 0
    torch.testing.assert_close(loss, InfoNCE(0.1, mode="symmetric")(a, b))


def test_no_positive_ignore_masks_anchor():
    a, _ = _pair(n=5)
    labels = torch.tensor([0, 0, 1, 1, 2])  # anchor 4 has no positive
    loss = InfoNCE(0.2, no_positive="ignore", reduction="none")(a, labels=labels)
    assert loss[4] == 0 and torch.isfinite(loss).all()
    ref = supcon_loop(a[:4], a, labels[:4], labels, list(range(4)), 0.2)
    torch.testing.assert_close(InfoNCE(0.2, no_positive="ignore")(a, labels=labels), ref.mean())


def test_hard_negative_all_equals_infonce():
    a, b = _pair()
    torch.testing.assert_close(HardNegativeInfoNCE(0.3, top_k=100)(a, b), InfoNCE(0.3)(a, b))
    torch.testing.assert_close(HardNegativeInfoNCE(0.3, fraction=1.0)(a, b), InfoNCE(0.3)(a, b))


def test_hard_negative_top1_matches_loop():
    a, b = _pair(n=5)
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1)
    s = z @ z.T
    n = 5
    rows = []
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        negs = [s[i, j] for j in range(2 * n) if j not in (i, p)]
        hardest = max(negs)
        rows.append(-s[i, p] / 0.5 + torch.logsumexp(torch.stack([s[i, p], hardest]) / 0.5, 0))
    _assert_same(HardNegativeInfoNCE(0.5, top_k=1)(a, b), torch.stack(rows).mean(), (a, b))


def test_gradient_wrt_similarity_is_softmax_over_tau():
    """Wang & Liu test (a): dL/ds_ij = P_ij / tau for negatives, -(1/tau) sum_k P_ik for the positive."""
    s = torch.tensor([0.9, 0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    tau = 0.2
    loss = -torch.log_softmax(s / tau, 0)[0]
    (g,) = torch.autograd.grad(loss, s)
    p = torch.softmax(s.detach() / tau, 0)
    torch.testing.assert_close(g[1:], p[1:] / tau)
    torch.testing.assert_close(g[0], -(p[1:].sum()) / tau)


def test_config_round_trip_and_citation():
    for loss in (InfoNCE(0.2, mode="symmetric"), DCL(0.1), DCLW(0.1, sigma=0.3),
                 HardNegativeInfoNCE(0.5, top_k=3)):
        rebuilt = type(loss)(**loss.config())
        assert rebuilt.config() == loss.config()
        assert loss.citation
