"""SepCLR terms vs hand values (worked by hand from the paper's equations) and naive loops."""

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.sepclr import SepCLR, align, jem, unif

Z1 = torch.tensor([[1, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]], dtype=torch.float64)
Z2 = torch.tensor([[0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8]], dtype=torch.float64)
S = torch.tensor([[0, 0], [0.3, -0.2], [1, 0.5]], dtype=torch.float64)


def _unif_loop(x, tau=0.5):
    vals = [math.exp(-float(((x[i] - x[j]) ** 2).sum()) / (2 * tau))
            for i in range(len(x)) for j in range(i + 1, len(x))]
    return math.log(sum(vals) / len(vals))


def test_hand_values():
    assert unif(Z1).item() == pytest.approx(-1.162491, abs=1e-6)
    assert align(Z1, Z2).item() == pytest.approx(0.506667, abs=1e-6)
    assert jem(Z1, S).item() == pytest.approx(-0.784724, abs=1e-6)


def test_unif_and_jem_match_loops():
    x = torch.randn(7, 4, dtype=torch.float64)
    s = torch.randn(7, 3, dtype=torch.float64)
    assert unif(x).item() == pytest.approx(_unif_loop(x), rel=1e-12)
    ref = 0.0
    for i in range(7):
        k = [math.exp(-(float(((x[i] - x[j]) ** 2).sum()) + float(((s[i] - s[j]) ** 2).sum())) / 1.0)
             for j in range(7)]
        ref += math.log(sum(k) / 7)
    assert jem(x, s).item() == pytest.approx(ref / 7, rel=1e-12)


def test_reg_is_mean_squared_norm_of_background_salient():
    c = torch.randn(6, 4, dtype=torch.float64)
    s = torch.randn(6, 3, dtype=torch.float64)
    t = torch.tensor([True, False, True, False, False, True])
    p = SepCLR().parts(c, c, s, s, is_target=t)
    assert p["reg"].item() == pytest.approx(float((s[~t] ** 2).sum(1).mean()), rel=1e-12)


def test_total_matches_a_direct_transcription_with_gradients():
    g = torch.Generator().manual_seed(0)
    c1, c2, s1, s2 = (torch.randn(8, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(4))
    t = torch.tensor([True, True, False, True, False, False, True, False])
    loss = SepCLR(2.0, 3.0, 0.5)(c1, c2, s1, s2, is_target=t)
    h1, h2 = F.normalize(c1, dim=1), F.normalize(c2, dim=1)
    k = t.double().unsqueeze(1)
    st1, st2 = s1 * k, s2 * k
    common = align(h1, h2) + unif(h1) + unif(h2)
    salient = align(s1[t], s2[t]) + unif(st1) + unif(st2)
    reg = 0.5 * (((s1[~t]) ** 2).sum(1).mean() + ((s2[~t]) ** 2).sum(1).mean())
    joint = 0.5 * (jem(h1, st1) + jem(h2, st2))
    ref = common + 2 * salient + 3 * reg + 0.5 * joint
    torch.testing.assert_close(loss, ref)
    for a, b in zip(torch.autograd.grad(loss, (c1, s1)), torch.autograd.grad(ref, (c1, s1)), strict=True):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda a, b: SepCLR(1.0, 1.0, 1.0)(a, a, b, b, is_target=t),
                                    (c1.detach()[:, :2].requires_grad_(), s1.detach()[:, :2].requires_grad_()))


def test_bad_input_and_half_precision():
    c = torch.randn(5, 4)
    s = torch.randn(5, 2)
    with pytest.raises(ValueError, match="is_target"):
        SepCLR()(c, c, s, s, is_target=torch.ones(5))
    with pytest.raises(ValueError, match="beta_reg"):
        SepCLR(beta_reg=-1)
    out = SepCLR()(c.half(), c.half(), s.half(), s.half(), is_target=torch.tensor([True, False] * 2 + [True]))
    assert out.dtype == torch.float32 and torch.isfinite(out)
