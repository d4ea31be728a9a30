"""TS2Vec hierarchical loss built from the core InfoNCE vs an independent transcription of the
official formula (yuezhihan/ts2vec models/losses.py, re-typed from its equations)."""

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE
from contrastkit.timeseries import losses as TL


def _nll_other_view(z):
    """z: (G, 2N, D) -> mean over anchors of -log softmax over the other 2N-1 rows at the partner."""
    g, m, _ = z.shape
    n = m // 2
    out = []
    for k in range(g):
        for i in range(m):
            partner = (i + n) % m
            scores = torch.stack([z[k, i] @ z[k, j] for j in range(m) if j != i])
            cols = [j for j in range(m) if j != i]
            out.append(-(scores[cols.index(partner)] - torch.logsumexp(scores, 0)))
    return torch.stack(out).mean()


def naive_instance(z1, z2):
    if z1.shape[0] == 1:
        return z1.new_zeros(())
    return _nll_other_view(torch.cat([z1, z2], 0).transpose(0, 1))


def naive_temporal(z1, z2):
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    return _nll_other_view(torch.cat([z1, z2], 1))


def naive_hierarchical(z1, z2, alpha=0.5, temporal_unit=0):
    loss, d = 0.0, 0
    while z1.shape[1] > 1:
        loss = loss + alpha * naive_instance(z1, z2)
        if d >= temporal_unit:
            loss = loss + (1 - alpha) * naive_temporal(z1, z2)
        d += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), 2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), 2).transpose(1, 2)
    loss = loss + alpha * naive_instance(z1, z2)
    return loss / (d + 1)


@pytest.fixture
def views():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(4, 11, 3, generator=g, dtype=torch.float64),
            torch.randn(4, 11, 3, generator=g, dtype=torch.float64))


def test_instance_and_temporal_match_naive(views):
    z1, z2 = views
    torch.testing.assert_close(TL.instance_contrastive_loss(z1, z2), naive_instance(z1, z2))
    torch.testing.assert_close(TL.temporal_contrastive_loss(z1, z2), naive_temporal(z1, z2))


@pytest.mark.parametrize("alpha,unit", [(0.5, 0), (0.3, 2), (1.0, 0)])
def test_hierarchical_matches_naive(views, alpha, unit):
    z1, z2 = views
    torch.testing.assert_close(TL.hierarchical_contrastive_loss(z1, z2, alpha=alpha, temporal_unit=unit),
                               naive_hierarchical(z1, z2, alpha, unit))


def test_loop_path_is_core_infonce_and_gradients_agree(views):
    z1, z2 = (v.clone().requires_grad_(True) for v in views)
    fast = TL.hierarchical_contrastive_loss(z1, z2)
    g_fast = torch.autograd.grad(fast, (z1, z2))
    slow = TL.hierarchical_contrastive_loss(z1, z2, loop=True)
    g_slow = torch.autograd.grad(slow, (z1, z2))
    torch.testing.assert_close(fast, slow)
    for a, b in zip(g_fast, g_slow, strict=True):
        torch.testing.assert_close(a, b)
    # one time step of the instance loss is literally the core NT-Xent (tau = 1, dot)
    t = 3
    core = InfoNCE(temperature=1.0, similarity="dot")(views[0][:, t], views[1][:, t])
    torch.testing.assert_close(TL.instance_contrastive_loss(views[0][:, t:t + 1], views[1][:, t:t + 1]), core)


def test_degenerate_sizes():
    z = torch.randn(1, 5, 3)
    assert TL.instance_contrastive_loss(z, z) == 0
    z = torch.randn(3, 1, 4)
    assert TL.temporal_contrastive_loss(z, z) == 0
    torch.testing.assert_close(TL.hierarchical_contrastive_loss(z, z, alpha=0.5),
                               0.5 * TL.instance_contrastive_loss(z, z))
    with pytest.raises(ValueError, match="z2"):
        TL.hierarchical_contrastive_loss(torch.randn(2, 3, 4), torch.randn(2, 4, 4))


def test_half_precision_upcast():
    z1, z2 = torch.randn(4, 8, 6), torch.randn(4, 8, 6)
    out = TL.hierarchical_contrastive_loss(z1.bfloat16(), z2.bfloat16())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, TL.hierarchical_contrastive_loss(z1.bfloat16().float(),
                                                                     z2.bfloat16().float()),
                               rtol=2e-2, atol=2e-2)


def test_crop_pair_overlap():
    x = torch.arange(40.0).view(1, 1, 40).repeat(3, 1, 1) + 100 * torch.arange(3.0).view(3, 1, 1)
    for seed in range(20):
        v1, v2, length = TL.ts2vec_crop_pair(x, generator=torch.Generator().manual_seed(seed))
        assert length >= 2
        torch.testing.assert_close(v1[..., -length:], v2[..., :length])  # the shared segment
