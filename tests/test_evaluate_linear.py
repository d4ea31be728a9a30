"""Linear probe: the documented pipeline (StandardScaler + LogisticRegression) and sanity bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from contrastkit.evaluate import linear_probe


def data(seed, n=150, d=10, shift=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, d)) * 5.0 + 100.0  # badly scaled: standardisation matters
    x[:, 0] += shift * 15.0 * y
    return x.astype(np.float32), y


def test_matches_sklearn_pipeline():
    xtr, ytr = data(0)
    xte, yte = data(1)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500, random_state=0))
    want = float((pipe.fit(xtr.astype(np.float64), ytr).predict(xte.astype(np.float64)) == yte).mean())
    got = linear_probe(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte),
                       torch.from_numpy(yte), C=0.5, max_iter=500)
    assert got == pytest.approx(want)
    assert linear_probe(xtr, ytr, xte, yte, C=0.5, max_iter=500) == pytest.approx(want)
    assert 0.8 < got <= 1.0


def test_uninformative_features_are_near_chance():
    xtr, ytr = data(2, n=300, shift=0.0)
    xte, yte = data(3, n=300, shift=0.0)
    assert linear_probe(xtr, ytr, xte, yte) < 0.5


def test_validation():
    x = torch.randn(10, 3)
    y = torch.arange(10) % 2
    with pytest.raises(ValueError, match="train_labels"):
        linear_probe(x, torch.zeros(10, dtype=torch.long), x, y)
    with pytest.raises(ValueError, match="test_labels"):
        linear_probe(x, y, x, y[:5])
    with pytest.raises(ValueError, match="test_emb"):
        linear_probe(x, y, torch.randn(10, 4), y)
    with pytest.raises(ValueError, match="C"):
        linear_probe(x, y, x, y, C=-1.0)
    with pytest.raises(TypeError, match="train_labels"):
        linear_probe(x, y.float(), x, y)
