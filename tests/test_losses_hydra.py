"""Hydra / SimLAP loss vs a naive per-anchor loop, mask logic, centring invariance."""

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.hydra import Hydra, hydra_masks, sample_partner_labels


def _loop(z, y, y2, gates, tau):
    """sum over (anchor, positive) of log(exp(l_ij) + sum_neg exp(l_ik)) - l_ij, / #positives."""
    total, count = 0.0, 0
    n = z.shape[0]
    for i in range(n):
        g = gates[i] if gates is not None else torch.ones_like(z[i])
        u = F.normalize(g * z[i], dim=0)
        logit = [torch.dot(u, F.normalize(g * z[j], dim=0)) / tau for j in range(n)]
        negs = [logit[k] for k in range(n) if int(y[k]) != int(y[i]) and int(y[k]) != int(y2[i])]
        for j in range(n):
            if int(y[j]) != int(y2[i]):
                continue
            count += 1
            terms = [logit[j], *negs]
            m = max(float(t.detach()) for t in terms)
            total = total + m + torch.log(sum(torch.exp(t - m) for t in terms)) - logit[j]
    return total / count


@pytest.mark.parametrize("gated", [False, True])
def test_matches_loop(gated):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 0, 1])
    y2 = torch.tensor([1, 2, 0, 3, 2, 0, 1, 0, 3])
    gates = torch.sigmoid(torch.randn(9, 4, generator=g, dtype=torch.float64)).requires_grad_(True) if gated else None
    ours = Hydra(0.1)(z, labels=y, partner_labels=y2, gates=gates)
    ref = _loop(z, y, y2, gates, 0.1)
    torch.testing.assert_close(ours, ref)
    inputs = (z, gates) if gated else (z,)
    for a, b in zip(torch.autograd.grad(ours, inputs), torch.autograd.grad(ref, inputs), strict=True):
        torch.testing.assert_close(a, b)


def test_unit_gate_identical_pairs_is_the_ungated_supcon_form():
    z = torch.randn(8, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
    ours = Hydra(0.2)(z, labels=y, partner_labels=y, gates=torch.ones_like(z))
    torch.testing.assert_close(ours, Hydra(0.2)(z, labels=y, partner_labels=y))
    torch.testing.assert_close(ours, _loop(z, y, y, None, 0.2))


def test_centring_does_not_change_the_loss():
    z = torch.randn(10, 3)
    y = torch.randint(0, 3, (10,))
    y2 = sample_partner_labels(y, "arbitrary", generator=torch.Generator().manual_seed(1))
    gates = torch.rand(10, 3)
    a = Hydra(center=True)(z, labels=y, partner_labels=y2, gates=gates)
    b = Hydra(center=False)(z, labels=y, partner_labels=y2, gates=gates)
    torch.testing.assert_close(a, b)


def test_mask_logic_on_the_toy_batch():
    y = torch.tensor([0, 0, 1, 2])
    y2 = torch.tensor([1, 2, 0, 0])
    pos, neg = hydra_masks(y, y2)
    assert pos.tolist() == [[False, False, True, False], [False, False, False, True],
                            [True, True, False, False], [True, True, False, False]]
    assert neg.tolist() == [[False, False, False, True], [False, False, True, False],
                            [False, False, False, True], [False, False, True, False]]


def test_partner_sampling_modes():
    y = torch.arange(10) % 4
    assert torch.equal(sample_partner_labels(y, "identical"), y)
    arb = sample_partner_labels(y, "arbitrary", generator=torch.Generator().manual_seed(0))
    assert sorted(arb.tolist()) == sorted(y.tolist())
    dis = sample_partner_labels(y, "distinct", num_classes=4, generator=torch.Generator().manual_seed(0))
    assert torch.all(dis != y) and dis.max() < 4
    with pytest.raises(ValueError, match="num_classes"):
        sample_partner_labels(y, "distinct")


def test_no_negative_rows_and_bad_input():
    z = torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    y2 = torch.tensor([1, 1, 0, 0])  # every row's negatives are empty
    loss = Hydra()(z, labels=y, partner_labels=y2)
    assert loss.item() == 0.0
    (g,) = torch.autograd.grad(loss, z)
    assert torch.isfinite(g).all()
    with pytest.raises(ValueError, match="gates"):
        Hydra()(z, labels=y, partner_labels=y, gates=torch.rand(4, 2))
    with pytest.raises(ValueError, match="partner_labels"):
        Hydra()(z, labels=y, partner_labels=y[:3])
    half = Hydra()(z.detach().half(), labels=y, partner_labels=torch.tensor([0, 1, 1, 0]))
    assert half.dtype == torch.float32 and math.isfinite(half.item())
