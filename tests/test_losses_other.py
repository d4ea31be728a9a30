"""CACR, Wang & Liu's simple loss, half precision and bad input for every loss."""

import math

import pytest
import torch

from contrastkit.losses import CACR, DCL, DCLW, HardNegativeInfoNCE, InfoNCE, SimpleContrastive

Z1 = torch.tensor([[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]], dtype=torch.float64)
Z2 = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8]], dtype=torch.float64)


def test_cacr_hand_values():
    loss = CACR(alpha=1, beta=1, t_pos=1.0, t_neg=0.9)
    attraction, repulsion = loss.terms(torch.stack([Z1, Z2]))
    assert attraction.mean().item() == pytest.approx(0.506667, abs=1e-6)
    assert repulsion.mean().item() == pytest.approx(-0.825789, abs=1e-6)
    assert loss(Z1, Z2).item() == pytest.approx(-0.319122, abs=1e-6)


def _cacr_loop(views, alpha, beta, tp, tn):
    m, n, _ = views.shape
    att = 0.0
    for v in range(m):
        for i in range(n):
            costs = [((views[v, i] - views[u, i]) ** 2).sum() for u in range(m) if u != v]
            w = torch.softmax(torch.stack(costs) * tp, 0)
            att = att + sum(wk * alpha * c for wk, c in zip(w, costs, strict=True)) / n
    att = att / m
    rep, pairs = 0.0, 0
    for v in range(m):
        for u in range(v + 1, m):
            pairs += 1
            for i in range(n):
                costs = [((views[v, i] - views[u, j]) ** 2).sum() for j in range(n) if j != i]
                w = torch.softmax(-tn * torch.stack(costs), 0)
                rep = rep + sum(wk * -beta * c for wk, c in zip(w, costs, strict=True)) / n
    return att + rep / pairs


def test_cacr_multi_view_matches_loop_with_gradients():
    views = torch.nn.functional.normalize(torch.randn(4, 6, 5, dtype=torch.float64), dim=-1)
    views.requires_grad_(True)
    ours = CACR(alpha=1.0, beta=0.5, t_pos=1.0, t_neg=2.0, normalize=False)(views)
    ref = _cacr_loop(views, 1.0, 0.5, 1.0, 2.0)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(torch.autograd.grad(ours, views)[0], torch.autograd.grad(ref, views)[0])


def test_cacr_repels_closest_negative_hardest():
    """Hard-negative sensitivity: the repulsion gradient on the closest negative exceeds that on the farthest."""
    anchor = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    negs = torch.nn.functional.normalize(
        torch.tensor([[0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.1, 0.0]], dtype=torch.float64), dim=1
    ).requires_grad_(True)
    v1 = torch.cat([anchor, negs.detach()])
    v2 = torch.cat([anchor, negs])
    loss = CACR(normalize=False)
    _, rep = loss.terms(torch.stack([v1, v2]))
    (g,) = torch.autograd.grad(rep[0], negs)
    assert g[0].norm() > g[2].norm()


def test_simple_loss_matches_formula():
    z = torch.nn.functional.normalize(torch.cat([Z1, Z2]), dim=1)
    s = z @ z.T
    rows = []
    for i in range(6):
        p = (i + 3) % 6
        rows.append(-s[i, p] + 0.5 * sum(s[i, k] for k in range(6) if k not in (i, p)))
    ref = torch.stack(rows).reshape(2, 3).mean(0).mean()
    torch.testing.assert_close(SimpleContrastive(lam=0.5)(Z1, Z2), ref)
    hard = SimpleContrastive(lam=0.5, top_k=1)(Z1, Z2)
    rows = []
    for i in range(6):
        p = (i + 3) % 6
        rows.append(-s[i, p] + 0.5 * max(s[i, k] for k in range(6) if k not in (i, p)))
    torch.testing.assert_close(hard, torch.stack(rows).mean())


HALF_CASES = [
    ("ntxent", lambda a, b: InfoNCE(0.1)(a, b)),
    ("clip", lambda a, b: InfoNCE(0.07, mode="symmetric")(a, b)),
    ("supcon", lambda a, b: InfoNCE(0.1)(a, b, labels=torch.arange(a.shape[0]) % 4)),
    ("dcl", lambda a, b: DCL(0.1)(a, b)),
    ("dclw", lambda a, b: DCLW(0.1)(a, b)),
    ("hard", lambda a, b: HardNegativeInfoNCE(0.2, fraction=0.25)(a, b)),
    ("cacr", lambda a, b: CACR()(a, b)),
    ("simple", lambda a, b: SimpleContrastive()(a, b)),
]


@pytest.mark.parametrize("dtype,tol", [(torch.float16, 2e-2), (torch.bfloat16, 5e-2), (torch.float32, 1e-5)])
@pytest.mark.parametrize("name,fn", HALF_CASES, ids=[c[0] for c in HALF_CASES])
def test_low_precision_close_to_float64(name, fn, dtype, tol):
    """Stated tolerance: relative 2e-2 (float16), 5e-2 (bfloat16), 1e-5 (float32) of the float64 value."""
    g = torch.Generator().manual_seed(3)
    a = torch.randn(32, 16, generator=g, dtype=torch.float64)
    b = a + 0.3 * torch.randn(32, 16, generator=g, dtype=torch.float64)
    ref = fn(a, b)
    low_a, low_b = a.to(dtype).requires_grad_(True), b.to(dtype).requires_grad_(True)
    value = fn(low_a, low_b)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(low_a.grad).all()
    assert low_a.grad.dtype == dtype
    assert math.isclose(value.item(), ref.item(), rel_tol=tol, abs_tol=tol)


def test_large_logits_stay_finite():
    a = torch.randn(16, 8) * 100
    assert torch.isfinite(InfoNCE(1e-4)(a, a + 0.01))


ALL_LOSSES = [InfoNCE(0.1), DCL(0.1), DCLW(0.1), HardNegativeInfoNCE(0.1, top_k=2), SimpleContrastive()]


@pytest.mark.parametrize("loss", ALL_LOSSES + [CACR()], ids=lambda x: type(x).__name__)
def test_bad_inputs_name_the_argument(loss):
    a = torch.randn(4, 3)
    with pytest.raises(ValueError, match="b: expected the same shape"):
        loss(a, torch.randn(5, 3))
    with pytest.raises(ValueError, match="a: expected a rank-2"):
        loss(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match="NaN or inf"):
        loss(a, torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="inf"):
        loss(torch.full((4, 3), float("inf")), a)
    with pytest.raises(ValueError, match="empty batch"):
        loss(torch.randn(0, 3), torch.randn(0, 3))
    with pytest.raises(TypeError, match="a: expected a floating dtype"):
        loss(torch.ones(4, 3, dtype=torch.long), a)
    with pytest.raises(TypeError, match="a: expected a torch.Tensor"):
        loss([[1.0]], a)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda x: type(x).__name__)
def test_bad_labels_name_the_argument(loss):
    a = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"labels: expected shape \(4,\)"):
        loss(a, a, labels=torch.tensor([0, 1, 0]))
    with pytest.raises(TypeError, match="labels: expected an integer dtype"):
        loss(a, a, labels=torch.tensor([0.0, 1.0, 0.0, 1.0]))


def test_no_positive_is_an_error_by_default():
    a = torch.randn(4, 3)
    with pytest.raises(ValueError, match="labels: anchor 2 has no positive"):
        InfoNCE(0.1)(a, labels=torch.tensor([0, 0, 1, 2]))
    with pytest.raises(ValueError, match="b: a second view is required"):
        InfoNCE(0.1)(a)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
def test_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        InfoNCE(bad)
    with pytest.raises(ValueError, match="temperature"):
        InfoNCE(0.1)(torch.randn(3, 2), torch.randn(3, 2), temperature=torch.tensor(float(bad)))


def test_unknown_options():
    with pytest.raises(ValueError, match="reduction: unknown option 'avg'"):
        InfoNCE(0.1, reduction="avg")
    with pytest.raises(ValueError, match="mode: unknown option"):
        InfoNCE(0.1, mode="both")
    with pytest.raises(ValueError, match="similarity: unknown option"):
        InfoNCE(0.1, similarity="l1")
    with pytest.raises(ValueError, match="top_k, fraction"):
        HardNegativeInfoNCE(0.1)


def test_dcl_without_negatives_is_a_clear_error():
    a = torch.randn(3, 2)
    with pytest.raises(ValueError, match="negatives: some anchors have no candidate"):
        DCL(0.1)(a, labels=torch.tensor([0, 0, 0]))


def test_soft_weights_validation():
    a = torch.randn(3, 2)
    with pytest.raises(ValueError, match=r"weights: expected shape \(3, 3\)"):
        InfoNCE(0.1, mode="a_to_b")(a, a, weights=torch.ones(2, 3))
    with pytest.raises(ValueError, match="weights: expected non-negative"):
        InfoNCE(0.1, mode="a_to_b")(a, a, weights=-torch.ones(3, 3))
