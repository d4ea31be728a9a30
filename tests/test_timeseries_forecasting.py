"""Ridge forecasting probe against scikit-learn and on the bundled Airline series."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from contrastkit.evaluate.forecasting import chronological_split, ridge_forecast, sliding_windows
from contrastkit.timeseries import load_forecasting_series


def test_sliding_windows_reference():
    x, y = sliding_windows(torch.arange(10.0), 4, 2)
    assert x.shape == (5, 1, 4) and y.shape == (5, 2)
    torch.testing.assert_close(x[2, 0], torch.tensor([2.0, 3.0, 4.0, 5.0]))
    torch.testing.assert_close(y[2], torch.tensor([6.0, 7.0]))
    with pytest.raises(ValueError, match="series"):
        sliding_windows(torch.arange(4.0), 4, 2)


def test_ridge_matches_sklearn_for_chosen_alpha():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
    out = ridge_forecast(x[:40], y[:40], x[40:], y[40:])
    pred = Ridge(alpha=out["alpha"]).fit(x[:40], y[:40]).predict(x[40:])
    assert out["mse"] == pytest.approx(float(((pred - y[40:]) ** 2).mean()), rel=1e-8)
    assert out["mae"] == pytest.approx(float(np.abs(pred - y[40:]).mean()), rel=1e-8)


def test_airline_probe_beats_last_value():
    s = load_forecasting_series("airline")
    s = (s.log() - s.log().mean()) / s.log().std()
    x, y = sliding_windows(s, 24, 12)
    tr, te = chronological_split(x.shape[0], 0.2)
    out = ridge_forecast(x[tr, 0], y[tr], x[te, 0], y[te])
    naive = float(((x[te, 0, -1:] - y[te]) ** 2).mean())
    assert out["mse"] < naive


def test_errors():
    with pytest.raises(ValueError, match="train_targets"):
        ridge_forecast(np.zeros((10, 2)), np.zeros((9, 1)), np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="alphas"):
        ridge_forecast(np.zeros((10, 2)), np.zeros((10, 1)), np.zeros((3, 2)), np.zeros((3, 1)),
                       alphas=(0.0,))
