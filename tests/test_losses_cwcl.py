"""CWCL vs hand values worked from the paper's equation and a naive per-anchor loop (values and gradients)."""

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE
from contrastkit.losses.cwcl import CWCL, cwcl_weights

Z1 = torch.tensor([[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]], dtype=torch.float64)
Z2 = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8]], dtype=torch.float64)
U = torch.tensor([[1, 0], [0.8, 0.6], [0, 1]], dtype=torch.float64)


def _loop(p, q, w, tau):
    """-(1/N) sum_i (1/sum_j w_ij) sum_j w_ij log softmax_j(<p_i, q_j>/tau), pair by pair."""
    total = 0.0
    for i in range(p.shape[0]):
        logits = [torch.dot(p[i], q[j]) / (p[i].norm() * q[j].norm()) / tau for j in range(q.shape[0])]
        m = max(float(x.detach()) for x in logits)
        lse = m + torch.log(sum(torch.exp(x - m) for x in logits))
        wsum = sum(float(w[i, j]) for j in range(q.shape[0]))
        total = total + sum(w[i, j] * (lse - logits[j]) for j in range(q.shape[0])) / wsum
    return total / p.shape[0]


def test_hand_case():
    w = cwcl_weights(U)
    torch.testing.assert_close(w, torch.tensor([[1, .9, .5], [.9, 1, .8], [.5, .8, 1]], dtype=torch.float64))
    assert CWCL(0.5, reverse="none")(Z1, Z2, frozen=U).item() == pytest.approx(1.184947, abs=1e-6)


@pytest.mark.parametrize("reverse", ["infonce", "weighted", "none"])
def test_matches_loop_values_and_gradients(reverse):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    q = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    u = torch.randn(6, 8, generator=g, dtype=torch.float64)
    w = cwcl_weights(u)
    ours = CWCL(0.3, reverse=reverse)(p, q, frozen=u)
    ref = _loop(p, q, w, 0.3)
    if reverse == "infonce":
        ref = ref + _loop(q, p, torch.eye(6, dtype=torch.float64), 0.3)
    elif reverse == "weighted":
        ref = ref + _loop(q, p, w.T, 0.3)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
    for a, b in zip(torch.autograd.grad(ours, (p, q)), torch.autograd.grad(ref, (p, q)), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_identity_weights_give_infonce_and_scale_invariance():
    g = torch.Generator().manual_seed(1)
    p, q = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    eye = torch.eye(5)
    one_way = CWCL(0.2, reverse="none")(p, q, weights=eye)
    torch.testing.assert_close(one_way, InfoNCE(0.2, mode="a_to_b")(p, q))
    both = CWCL(0.2)(p, q, weights=eye)
    torch.testing.assert_close(both, 2 * InfoNCE(0.2, mode="symmetric")(p, q))
    w = cwcl_weights(torch.randn(5, 7, generator=g))
    torch.testing.assert_close(CWCL(0.2)(p, q, weights=w), CWCL(0.2)(p, q, weights=3.5 * w))


def test_learnable_temperature_gets_a_gradient_and_half_precision_is_finite():
    g = torch.Generator().manual_seed(2)
    p, q, u = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g), torch.randn(8, 6, generator=g)
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    loss = CWCL()(p, q, frozen=u, temperature=1 / log_scale.exp())
    (grad,) = torch.autograd.grad(loss, log_scale)
    assert torch.isfinite(grad) and grad != 0
    half = CWCL()(p.half(), q.half(), frozen=u.half())
    assert half.dtype == torch.float32 and torch.isfinite(half)
    torch.testing.assert_close(half, CWCL()(p, q, frozen=u), rtol=1e-2, atol=1e-2)


def test_sharpened_weights():
    u = F.normalize(torch.randn(4, 5), dim=1)
    w = cwcl_weights(u, sharpen=0.1)
    torch.testing.assert_close(torch.diagonal(w), torch.ones(4))
    torch.testing.assert_close(w, torch.exp((u @ u.T - 1) / 0.1))


def test_bad_input_names_the_argument():
    p = torch.randn(4, 3)
    with pytest.raises(ValueError, match="frozen, weights"):
        CWCL()(p, p)
    with pytest.raises(ValueError, match="frozen"):
        CWCL()(p, p, frozen=torch.randn(3, 2))
    with pytest.raises(ValueError, match="weights"):
        CWCL()(p, p, weights=-torch.ones(4, 4))
    with pytest.raises(ValueError, match="reverse"):
        CWCL(reverse="both")
    assert CWCL(0.1, sharpen=0.2).config() == {"temperature": 0.1, "reverse": "infonce", "sharpen": 0.2,
                                               "reduction": "mean"}
