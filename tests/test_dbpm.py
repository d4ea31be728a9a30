"""DBPM mining: identification and weights against hand-computed references."""

import numpy as np
import pytest
import torch
from scipy.stats import norm

from contrastkit.losses import InfoNCE
from contrastkit.mining.dbpm import DBPM, flag_precision_recall


def _planted_memory():
    losses = torch.cat([torch.linspace(0.9, 1.1, 960), torch.full((20,), 0.3), torch.full((20,), 2.0)])
    return losses.double()


def test_identification_of_planted_pairs():
    losses = _planted_memory()
    miner = DBPM(1000, max_epochs=2, warmup=1)
    miner.record(torch.arange(1000), losses, epoch=0)
    miner.start_epoch(1)
    flags = miner.flagged()
    assert flags["noisy"].tolist() == list(range(960, 980))
    assert flags["faulty"].tolist() == list(range(980, 1000))
    # thresholds in loss units (m = l / E with E = 2)
    mu, sd = losses.mean().item(), losses.std(unbiased=False).item()
    assert abs(mu - 2 * sd - 0.64) < 0.02 and abs(mu + 3 * sd - 1.55) < 0.02
    assert miner.mu == pytest.approx(mu / 2) and miner.std == pytest.approx(sd / 2)


def test_weights_are_gaussian_pdf_on_flagged_only():
    miner = DBPM(1000, max_epochs=2, warmup=1)
    miner.record(torch.arange(1000), _planted_memory(), epoch=0)
    miner.start_epoch(1)
    index = torch.tensor([0, 500, 965, 990])
    current = torch.tensor([1.0, 0.8, 0.35, 1.9], dtype=torch.float64)
    w = miner.weights(index, current)
    ref = norm(miner.mu, miner.std).pdf(current.numpy())
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0, ref[2], ref[3]], rtol=1e-10)
    out = miner(current, index, record=False)
    torch.testing.assert_close(out, current * w)
    normalized = DBPM(1000, 2, 1, normalize_weights=True)
    normalized.record(torch.arange(1000), _planted_memory(), epoch=0)
    normalized.start_epoch(1)
    assert (normalized.weights(index, current) <= 1).all()


def test_history_statistic_matches_official_weighting():
    miner = DBPM(3, max_epochs=4, warmup=3)
    hist = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5], [2.0, 1.0, 0.0]], dtype=torch.float64)
    for e in range(3):
        miner.record(torch.arange(3), hist[:, e], epoch=e)
    expected = [np.mean(np.array(h) * [(1 + i) / 4 for i in range(3)]) for h in hist.tolist()]
    np.testing.assert_allclose(miner.statistic(3).numpy(), expected)


def test_before_warmup_equals_plain_loss_with_infonce():
    torch.manual_seed(0)
    a, b = torch.randn(8, 5), torch.randn(8, 5)
    per_pair = InfoNCE(0.2, reduction="none")(a, b)
    assert per_pair.shape == (8,)
    miner = DBPM(8, max_epochs=10, warmup=5)
    miner.start_epoch(0)
    torch.testing.assert_close(miner(per_pair, torch.arange(8)).mean(), InfoNCE(0.2)(a, b))
    assert torch.isfinite(miner.memory[:, 0]).all()


def test_errors_and_precision():
    miner = DBPM(4, 3, 1)
    with pytest.raises(ValueError, match="losses"):
        miner.record(torch.arange(4), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="index"):
        miner.record(torch.tensor([0, 9]), torch.zeros(2))
    with pytest.raises(ValueError, match="warmup"):
        DBPM(4, 3, -1)
    assert flag_precision_recall(torch.tensor([1, 2, 3]), torch.tensor([2, 3, 4, 5])) == (2 / 3, 0.5)
