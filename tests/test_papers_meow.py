"""MEOW / AdaMEOW: exact checks against naive loops (float64) and the quick reproduction."""

import math

import pytest
import torch

pytest.importorskip("torch_geometric")

from contrastkit.mining import cluster_negative_weights  # noqa: E402
from contrastkit.papers.meow.module import PairWeightNet, pair_weight_means, weighted_infonce  # noqa: E402


def _naive_weighted(anchor, cand, w, tau):
    """The official ``InfoNce`` / ``weight_InfoNce`` loops: -mean_i log(exp(s_ii/tau) / sum_j w_ij exp(s_ij/tau))."""
    total = 0.0
    for i in range(anchor.shape[0]):
        s = [float(anchor[i] @ cand[j]) / tau for j in range(cand.shape[0])]
        den = sum(float(w[i, j]) * math.exp(s[j]) for j in range(cand.shape[0]))
        total += -(s[i] - math.log(den))
    return total / anchor.shape[0]


def _unit(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


def test_cluster_weights_hand_case():
    w = cluster_negative_weights([torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1])], torch.float64)
    expected = torch.tensor([[0, 1, 2, 2], [1, 0, 1, 1], [2, 1, 0, 0], [2, 1, 0, 0]], dtype=torch.float64)
    assert torch.equal(w, expected)
    with pytest.raises(ValueError, match="assignments: every clustering"):
        cluster_negative_weights([torch.tensor([0, 1]), torch.tensor([0, 1, 2])])
    with pytest.raises(ValueError, match="assignments: expected integer"):
        cluster_negative_weights([torch.tensor([0.0, 1.0])])


def test_meow_loss_equals_the_official_loop():
    a, b = _unit(6, 4, 0), _unit(6, 4, 1)
    w = cluster_negative_weights([torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([0, 1, 1, 2, 2, 0])],
                                 torch.float64)
    assert math.isclose(float(weighted_infonce(a, b, w, 0.4)), _naive_weighted(a, b, w, 0.4), rel_tol=1e-12)


def test_singleton_clusters_are_debiased_infonce_plus_log_k():
    n, k, tau = 7, 2, 0.5
    a, b = _unit(n, 5, 2), _unit(n, 5, 3)
    w = cluster_negative_weights([torch.arange(n)] * k, torch.float64)
    assert torch.equal(w, k * (1 - torch.eye(n, dtype=torch.float64)))
    debiased = 0.0  # positive excluded from the denominator, by hand
    for i in range(n):
        s = [float(a[i] @ b[j]) / tau for j in range(n)]
        debiased += -(s[i] - math.log(sum(math.exp(s[j]) for j in range(n) if j != i)))
    debiased /= n
    assert math.isclose(float(weighted_infonce(a, b, w, tau)), debiased + math.log(k), rel_tol=1e-12)


def test_constant_weight_network_equals_infonce():
    n, tau = 6, 1.0
    a, b = _unit(n, 4, 4), _unit(n, 4, 5)
    net = PairWeightNet(4).double()
    torch.nn.init.zeros_(net.second.weight)
    torch.nn.init.constant_(net.second.bias, 50.0)  # sigmoid(50) == 1 in float64
    w = net(a, b)
    assert torch.equal(w, torch.ones_like(w))
    standard = torch.nn.functional.cross_entropy(a @ b.T / tau, torch.arange(n))  # positive in the denominator
    assert math.isclose(float(weighted_infonce(a, b, w, tau)), float(standard), rel_tol=1e-12)


def test_weight_network_equals_the_pair_sum_mlp_and_gets_the_exact_gradient():
    torch.manual_seed(0)
    n, d, tau = 5, 4, 0.7
    a = _unit(n, d, 6).requires_grad_(True)
    b = _unit(n, d, 7).requires_grad_(True)
    net = PairWeightNet(d).double()
    pairs = (a.unsqueeze(1) + b.unsqueeze(0)).reshape(n * n, d)  # the official (N*N, d) pair sums
    mlp = torch.nn.Sequential(net.first, torch.nn.Tanh(), net.second, torch.nn.Sigmoid())
    w_ref = mlp(pairs).reshape(n, n)
    assert torch.allclose(net(a, b), w_ref, atol=1e-14)
    dots = torch.exp(a @ b.T / tau)
    ref = (-torch.log(dots.diag() / (dots * w_ref).sum(1))).mean()
    got = weighted_infonce(a, b, net(a, b), tau)
    assert torch.allclose(got, ref, atol=1e-12)
    params = [a, b, *net.parameters()]
    for g1, g2 in zip(torch.autograd.grad(got, params), torch.autograd.grad(ref, params), strict=True):
        assert torch.allclose(g1, g2, atol=1e-12)


def test_pair_weight_means_by_hand_and_labels_of_another_length():
    w = torch.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 5.0], [3.0, 5.0, 0.0]])
    got = pair_weight_means(w, torch.tensor([0, 0, 1]))
    assert got == {"same_class": 1.0, "other_class": 4.0}
    with pytest.raises(ValueError, match="labels: expected 3"):
        pair_weight_means(w, torch.tensor([0, 1]))


@pytest.mark.requires_wordnet
def test_quick_reproduction_is_a_smoke_run():
    from contrastkit.papers import get_reproduction

    result = get_reproduction("meow")(quick=True)
    assert result.outcome() == "smoke"
    assert {"infonce", "meow", "adameow", "features", "untrained"} <= set(result.metrics)
    assert all(0 <= v <= 1 for m in ("infonce", "meow", "adameow") for v in result.metrics[m]["values"])
