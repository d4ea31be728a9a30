"""Non-contrastive SSL terms vs naive numpy references and hand cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.ssl import BarlowTwins, NegativeCosine, SwAV, VICReg, sinkhorn


def _xy(n=12, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    b = (a.detach() + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)).requires_grad_(True)
    return a, b


def _barlow_np(a, b, lam):
    a = (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5)
    b = (b - b.mean(0)) / np.sqrt(b.var(0) + 1e-5)
    n, d = a.shape
    total = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[k, i] * b[k, j] for k in range(n)) / n
            total += (1 - c) ** 2 if i == j else lam * c**2
    return total


def test_barlow_twins_matches_loop_and_gradcheck():
    a, b = _xy()
    ours = BarlowTwins(5e-3, scale=0.025)(a, b)
    ref = 0.025 * _barlow_np(a.detach().numpy(), b.detach().numpy(), 5e-3)
    assert ours.item() == pytest.approx(ref, rel=1e-9)
    assert torch.autograd.gradcheck(lambda x, y: BarlowTwins()(x, y), (a[:6, :3], b[:6, :3]))


def _vicreg_np(a, b):
    n, d = a.shape
    inv = ((a - b) ** 2).mean()
    def vc(z):
        z = z - z.mean(0)
        std = np.sqrt(z.var(0, ddof=1) + 1e-4)
        var = np.maximum(0, 1 - std).mean()
        cov = z.T @ z / (n - 1)
        off = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
        return var, off / d
    va, ca = vc(a)
    vb, cb = vc(b)
    return 25 * inv + 25 * (va + vb) + (ca + cb)


def test_vicreg_matches_reference_and_gradcheck():
    a, b = _xy(seed=1)
    a2, b2 = a.detach() * 0.3, b.detach() * 0.3  # std < 1: the variance hinge is active
    for x, y in ((a, b), (a2, b2)):
        assert VICReg()(x, y).item() == pytest.approx(_vicreg_np(x.detach().numpy(), y.detach().numpy()), rel=1e-9)
    assert torch.autograd.gradcheck(lambda x, y: VICReg()(x, y),
                                    (a2[:6, :3].clone().requires_grad_(), b2[:6, :3].clone().requires_grad_()))


def test_negative_cosine_forms_and_stop_gradient():
    a, b = _xy(seed=2)
    assert NegativeCosine()(a, a).item() == pytest.approx(0.0, abs=1e-12)  # identical p and v: 0
    ref = (2 - 2 * F.cosine_similarity(a, b.detach())).mean()
    torch.testing.assert_close(NegativeCosine()(a, b), ref)
    torch.testing.assert_close(NegativeCosine(form="simsiam")(a, b), -F.cosine_similarity(a, b).mean())
    ga, gb = torch.autograd.grad(NegativeCosine()(a, b), (a, b), allow_unused=True)
    assert gb is None or torch.all(gb == 0)
    assert ga.abs().sum() > 0


def test_sinkhorn_rows_sum_to_one_and_prototypes_balance():
    g = torch.Generator().manual_seed(3)
    scores = F.normalize(torch.randn(64, 8, generator=g), dim=1)
    q = sinkhorn(scores, epsilon=0.05, iterations=3)
    torch.testing.assert_close(q.sum(1), torch.ones(64))
    q_long = sinkhorn(scores, epsilon=0.5, iterations=200)
    torch.testing.assert_close(q_long.sum(0), torch.full((8,), 64 / 8), rtol=1e-3, atol=1e-3)
    # naive (non-log-domain) SwAV iteration on a well-conditioned case
    Q = torch.exp(scores / 0.5).T.double()
    Q /= Q.sum()
    for _ in range(3):
        Q /= Q.sum(1, keepdim=True)
        Q /= 8
        Q /= Q.sum(0, keepdim=True)
        Q /= 64
    torch.testing.assert_close(sinkhorn(scores.double(), epsilon=0.5, iterations=3), (Q * 64).T)


def test_swav_value_and_gradient():
    g = torch.Generator().manual_seed(4)
    a = torch.randn(10, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(10, 6, generator=g, dtype=torch.float64, requires_grad=True)
    qa, qb = sinkhorn(a), sinkhorn(b)
    ref = -0.5 * ((qb * torch.log_softmax(a / 0.1, 1)).sum(1) + (qa * torch.log_softmax(b / 0.1, 1)).sum(1)).mean()
    ours = SwAV()(a, b)
    torch.testing.assert_close(ours, ref)
    for x, y in zip(torch.autograd.grad(ours, (a, b)), torch.autograd.grad(ref, (a, b)), strict=True):
        torch.testing.assert_close(x, y)


def test_half_precision_and_bad_input():
    a, b = _xy(seed=5)
    for loss in (BarlowTwins(), VICReg(), NegativeCosine(), SwAV()):
        out = loss(a.detach().half(), b.detach().half())
        assert out.dtype == torch.float32 and torch.isfinite(out)
    with pytest.raises(ValueError, match="reduction"):
        BarlowTwins(reduction="none")
    with pytest.raises(ValueError, match="b"):
        VICReg()(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="a"):
        BarlowTwins()(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="form"):
        NegativeCosine(form="dino")
