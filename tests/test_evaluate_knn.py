"""kNN accuracy against a naive per-query python loop and hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from contrastkit.evaluate import knn_accuracy


def naive_knn(train, ytr, test, yte, k, temperature):
    """Loop over queries: cosine scores, top-k, weighted vote exp(s/T), argmax (first max)."""
    train = train.double().numpy()
    test = test.double().numpy()
    ytr = ytr.tolist()
    correct = 0
    for q, y in zip(test, yte.tolist(), strict=True):
        sims = []
        for x, lab in zip(train, ytr, strict=True):
            sims.append((float(q @ x) / (np.linalg.norm(q) * np.linalg.norm(x)), lab))
        sims.sort(key=lambda t: -t[0])
        votes: dict[int, float] = {}
        for s, lab in sims[:k]:
            votes[lab] = votes.get(lab, 0.0) + math.exp(s / temperature)
        best = max(votes.values())
        pred = min(lab for lab, v in votes.items() if v == best)
        correct += pred == y
    return correct / len(yte)


def clustered(n, d=8, n_cls=4, spread=1.5, seed=0, labels=None):
    """Gaussian clusters around centres fixed by ``d`` and ``n_cls``; ``seed`` draws the samples."""
    centres = torch.randn(n_cls, d, generator=torch.Generator().manual_seed(1234))
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_cls, (n,), generator=g)
    x = centres[y] + spread * torch.randn(n, d, generator=g)
    if labels is not None:
        y = torch.as_tensor(labels)[y]
    return x, y


@pytest.mark.parametrize("k,temperature", [(1, 0.07), (5, 0.07), (20, 0.5), (7, 2.0)])
def test_matches_naive_loop(k, temperature):
    xtr, ytr = clustered(120, seed=1)
    xte, yte = clustered(50, seed=2)
    got = knn_accuracy(xtr, ytr, xte, yte, k=k, temperature=temperature)
    want = naive_knn(xtr, ytr, xte, yte, k, temperature)
    assert got == pytest.approx(want, abs=1e-12)
    assert 0.3 < got < 1.0  # the clusters make the task learnable, not trivial


def test_chunking_and_numpy_and_label_values():
    xtr, ytr = clustered(90, seed=5, labels=[3, 7, 100, -2])
    xte, yte = clustered(40, seed=5, labels=[3, 7, 100, -2])
    ref = naive_knn(xtr, ytr, xte, yte, 10, 0.1)
    for chunk in (1, 7, 1000):
        assert knn_accuracy(xtr, ytr, xte, yte, k=10, temperature=0.1, chunk_size=chunk) == pytest.approx(ref)
    assert knn_accuracy(xtr.numpy(), ytr.numpy(), xte.numpy(), yte.numpy(), k=10, temperature=0.1) == (
        pytest.approx(ref)
    )


def test_weighting_changes_the_vote():
    # The query is almost on top of one class-0 point; two class-1 points are farther away.
    train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]])
    ytr = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.01]])
    # sharp weights: the nearest neighbour wins; flat weights: the majority wins
    assert knn_accuracy(train, ytr, query, torch.tensor([0]), k=3, temperature=0.05) == 1.0
    assert knn_accuracy(train, ytr, query, torch.tensor([1]), k=3, temperature=100.0) == 1.0


def test_tiny_temperature_is_one_nn_and_does_not_overflow():
    xtr, ytr = clustered(100, seed=7, spread=3.0)
    xte, yte = clustered(60, seed=8, spread=3.0)
    one_nn = KNeighborsClassifier(n_neighbors=1, metric="cosine").fit(xtr.numpy(), ytr.numpy())
    want = float((one_nn.predict(xte.numpy()) == yte.numpy()).mean())
    assert knn_accuracy(xtr, ytr, xte, yte, k=20, temperature=1e-4) == pytest.approx(want)


def test_k_larger_than_train_set_is_clipped():
    xtr, ytr = clustered(15, seed=9)
    xte, yte = clustered(10, seed=10)
    assert knn_accuracy(xtr, ytr, xte, yte, k=200) == pytest.approx(naive_knn(xtr, ytr, xte, yte, 15, 0.07))


def test_half_precision_input():
    xtr, ytr = clustered(60, seed=11)
    got = knn_accuracy(xtr.half(), ytr, xtr.half(), ytr, k=1)
    assert got == 1.0


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(train_labels=torch.zeros(5, dtype=torch.long)), ValueError, "train_labels"),
        (dict(test_emb=torch.randn(4, 3)), ValueError, "test_emb"),
        (dict(test_emb=torch.randn(4)), ValueError, "test_emb"),
        (dict(train_emb=torch.full((6, 4), float("nan"))), ValueError, "train_emb"),
        (dict(train_emb=torch.empty(0, 4), train_labels=torch.empty(0, dtype=torch.long)), ValueError,
         "train_emb"),
        (dict(test_labels=torch.zeros(4)), TypeError, "test_labels"),
        (dict(k=0), ValueError, "k"),
        (dict(temperature=-1.0), ValueError, "temperature"),
    ],
)
def test_validation(kwargs, exc, match):
    args = dict(train_emb=torch.randn(6, 4), train_labels=torch.zeros(6, dtype=torch.long),
                test_emb=torch.randn(4, 4), test_labels=torch.zeros(4, dtype=torch.long))
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k in ("k", "temperature")}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        knn_accuracy(args["train_emb"], args["train_labels"], args["test_emb"], args["test_labels"], **extra)
