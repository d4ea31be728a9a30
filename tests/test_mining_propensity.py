"""Inverse-propensity pair sampling: hand values, rows summing to one, a flattened surface histogram."""

import pytest
import torch
from scipy import stats

from contrastkit.mining import inverse_propensity_probabilities, sample_candidates, surface_bins


def test_hand_value():
    # valid candidates over all anchors: bin 0 twice, bins 1 and 2 once -> e = (1/2, 1/4, 1/4)
    bins = torch.tensor([[0, 1, 2], [0, 2, 1]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    p = inverse_propensity_probabilities(bins, mask, n_bins=3)
    # row 0: 1/e = (2, 4, 4) -> (0.2, 0.4, 0.4); row 1: one valid candidate -> 1
    assert p[0].tolist() == pytest.approx([0.2, 0.4, 0.4])
    assert p[1].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert p.sum(1).tolist() == pytest.approx([1.0, 1.0])


def test_ipw_sampling_flattens_a_skewed_surface_histogram():
    g = torch.Generator().manual_seed(0)
    n, n_bins = 400, 5
    # 90 % of every anchor's candidates sit in the top bin (e.g. near-identical length): 36 there, one in
    # each other bin, in a random order per anchor. The per-anchor normalisation flattens exactly when each
    # anchor's mix matches the global histogram (an anchor whose candidates share one bin cannot be flattened).
    row = torch.tensor([n_bins - 1] * 36 + list(range(n_bins - 1)))
    k = row.numel()
    bins = torch.stack([row[torch.randperm(k, generator=g)] for _ in range(n)])
    mask = torch.ones(n, k, dtype=torch.bool)
    p = inverse_propensity_probabilities(bins, mask, n_bins=n_bins)
    assert torch.allclose(p.sum(1), torch.ones(n, dtype=torch.float64))
    draws_ipw, draws_naive = [], []
    for _ in range(5):
        draws_ipw.append(bins.gather(1, sample_candidates(p, g)[:, None]).squeeze(1))
        draws_naive.append(bins.gather(1, torch.randint(0, k, (n, 1), generator=g)).squeeze(1))
    hist_ipw = torch.bincount(torch.cat(draws_ipw), minlength=n_bins)
    hist_naive = torch.bincount(torch.cat(draws_naive), minlength=n_bins)
    assert stats.chisquare(hist_ipw.numpy()).pvalue > 0.001  # consistent with uniform
    assert stats.chisquare(hist_naive.numpy()).pvalue < 1e-10  # far from uniform


def test_surface_bins_and_bad_input():
    assert surface_bins(torch.tensor([0.0, 1.0, 2.5, 9.0]), [1.0, 3.0]).tolist() == [0, 1, 1, 2]
    with pytest.raises(ValueError, match="edges"):
        surface_bins(torch.zeros(2), [3.0, 1.0])
    with pytest.raises(ValueError, match="bins"):
        inverse_propensity_probabilities(torch.tensor([[0, 5]]), torch.ones(1, 2, dtype=torch.bool), n_bins=3)
    with pytest.raises(ValueError, match="mask"):
        inverse_propensity_probabilities(torch.tensor([[0, 1]]), torch.ones(1, 2), n_bins=3)
    with pytest.raises(ValueError, match="probabilities"):
        sample_candidates(torch.zeros(2, 3, dtype=torch.float64))
