"""SVM probe: TS2Vec's protocol (RBF SVC, C by 5-fold grid search) against explicit scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from contrastkit.evaluate import svm_probe

GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, np.inf]


def data(seed, n=90, d=6):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, d))
    x[:, 0] += 1.2 * y
    x[:, 1] += np.sin(2.0 * y)
    return x.astype(np.float32), y


def reference(clf, xtr, ytr, xte, yte):
    clf.fit(xtr.astype(np.float64), ytr)
    return float((clf.predict(xte.astype(np.float64)) == yte).mean())


def test_grid_search_matches_sklearn():
    xtr, ytr = data(0)
    xte, yte = data(1, n=120)
    search = GridSearchCV(SVC(kernel="rbf", gamma="scale"), {"C": GRID}, cv=5)
    want = reference(search, xtr, ytr, xte, yte)
    got = svm_probe(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte),
                    torch.from_numpy(yte))
    assert got == pytest.approx(want)
    assert svm_probe(xtr, ytr, xte, yte) == pytest.approx(want)
    # the search matters here: a hard margin overfits the overlapping classes
    hard = reference(SVC(C=np.inf, gamma="scale"), xtr, ytr, xte, yte)
    assert search.best_params_["C"] < 1e4 and want > hard
    assert 0.5 < got <= 1.0


def test_fixed_c_matches_sklearn():
    xtr, ytr = data(2)
    xte, yte = data(3)
    for c in (0.1, 3.0, math.inf):
        want = reference(SVC(C=c, gamma="scale"), xtr, ytr, xte, yte)
        assert svm_probe(xtr, ytr, xte, yte, C=c) == pytest.approx(want)


def test_small_training_set_falls_back_to_hard_margin():
    xtr, ytr = data(4, n=30)  # < 50 samples: no search (TS2Vec's rule)
    xte, yte = data(5, n=120)
    want = reference(SVC(C=np.inf, gamma="scale"), xtr, ytr, xte, yte)
    assert svm_probe(xtr, ytr, xte, yte) == pytest.approx(want)
    x, y = data(6, n=80)
    y = np.where(np.arange(80) < 3, 3, y)  # one class with 3 samples: a stratified fold lacks it
    want = reference(SVC(C=np.inf, gamma="scale"), x, y, xte, yte)
    assert svm_probe(x, y, xte, yte) == pytest.approx(want)


def test_validation():
    x = torch.randn(10, 3)
    y = torch.arange(10) % 2
    with pytest.raises(ValueError, match="train_labels"):
        svm_probe(x, torch.zeros(10, dtype=torch.long), x, y)
    with pytest.raises(ValueError, match="test_labels"):
        svm_probe(x, y, x, y[:5])
    with pytest.raises(ValueError, match="test_emb"):
        svm_probe(x, y, torch.randn(10, 4), y)
    with pytest.raises(ValueError, match="train_emb"):
        svm_probe(torch.full((10, 3), float("nan")), y, x, y)
    with pytest.raises(ValueError, match="C"):
        svm_probe(x, y, x, y, C=0.0)
    with pytest.raises(TypeError, match="C"):
        svm_probe(x, y, x, y, C="1")
    with pytest.raises(TypeError, match="train_labels"):
        svm_probe(x, y.float(), x, y)
    with pytest.raises(TypeError, match="seed"):
        svm_probe(x, y, x, y, seed=1.5)
