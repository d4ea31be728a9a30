"""AutoTCL parts against hand-computed references and the official formulas."""

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.timeseries.autotcl import (
    AugmentationNetwork,
    global_infonce,
    hard_concrete_mask,
    local_infonce,
    local_positive_pattern,
    mmd_rbf,
)


def test_view_is_invertible_on_kept_steps():
    torch.manual_seed(0)
    net = AugmentationNetwork(2, aug_dim=8)
    x = torch.randn(4, 2, 30)
    out = net(x)
    assert (out.scale > 0).all()
    kept = out.mask.detach().bool()
    assert set(out.mask.detach().unique().tolist()) <= {0.0, 1.0}
    recovered = out.view / out.scale.unsqueeze(1)
    torch.testing.assert_close(recovered.permute(0, 2, 1)[kept], x.permute(0, 2, 1)[kept])
    assert (out.view.permute(0, 2, 1)[~kept] == 0).all()


def test_straight_through_gradient():
    w = torch.full((64,), 0.6, requires_grad=True)
    h = hard_concrete_mask(w, generator=torch.Generator().manual_seed(0))
    assert set(h.detach().unique().tolist()) <= {0.0, 1.0}
    (h * torch.arange(64.0)).sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_hard_concrete_reference():
    w = torch.tensor([0.2, 0.9])
    u = torch.rand(2, generator=torch.Generator().manual_seed(5))
    u = 0.05 + 0.9 * u
    s = torch.sigmoid(torch.log(u) - torch.log(1 - u) + w)
    expected = (s * 1.05 - 0.05).clamp(0, 1)
    soft = hard_concrete_mask(w, hard=False, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(soft, expected)
    det = hard_concrete_mask(w, sample=False, hard=False)
    torch.testing.assert_close(det, (torch.sigmoid(w) * 1.05 - 0.05).clamp(0, 1))


def test_global_infonce_orthonormal_value():
    b, tau = 6, 0.5
    z = torch.eye(b).unsqueeze(1)  # (B, T=1, D=B): orthonormal rows after pooling
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + (b - 1)))
    torch.testing.assert_close(global_infonce(z, z, temperature=tau), torch.tensor(expected))


def test_mmd_identity_and_symmetry():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g) + 1
    torch.testing.assert_close(mmd_rbf(a, a), torch.tensor(0.0))
    torch.testing.assert_close(mmd_rbf(a, b), mmd_rbf(b, a))
    assert mmd_rbf(a, b) > 0


def test_mmd_matches_official_formula():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    total = torch.cat([a, b])
    d2 = torch.cdist(total, total) ** 2
    bw = d2.sum() / (10 * 10 - 10) / 2 ** 2
    k = sum(torch.exp(-d2 / (bw * 2 ** i)) for i in range(5))
    ref = (k[:5, :5] + k[5:, 5:] - k[:5, 5:] - k[5:, :5]).mean()
    torch.testing.assert_close(mmd_rbf(a, b), ref, rtol=1e-4, atol=1e-5)


def official_local(z, k, start):
    """Transcription of AutoTCL's local_infoNCE for one series (the official code uses series 0)."""
    z = F.normalize(z, dim=-1)
    size = z.shape[0] // k
    seg = z[start:start + size * k].reshape(k, size, -1).amax(1)
    sim = seg @ seg.T
    losses = []
    for i in range(k):
        pos = i + 1 if i < k - 1 else k - 2
        excluded = {i - 1, i, i + 1} | ({2} if i == 0 else set()) | ({k - 3} if i == k - 1 else set())
        neg = [j for j in range(k) if j not in excluded]
        logits = torch.cat([sim[i, pos:pos + 1], sim[i, neg]])
        losses.append(-F.log_softmax(logits, 0)[0])
    return torch.stack(losses).mean()


def test_local_infonce_matches_official_per_series():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3, 70, 5, generator=g, dtype=torch.float64)
    per_series = [official_local(z[i], 8, 3) for i in range(3)]
    torch.testing.assert_close(local_infonce(z, k=8, start=3), torch.stack(per_series).mean())
    torch.testing.assert_close(local_infonce(z[:1], k=8, start=3), per_series[0])
    assert local_infonce(torch.randn(2, 5, 3), k=16) == 0
    with pytest.raises(ValueError, match="k"):
        local_positive_pattern(3)
