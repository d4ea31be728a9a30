"""Class-label retrieval metrics against a naive python loop and pytorch-metric-learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.evaluate import class_retrieval_metrics
from contrastkit.evaluate.class_retrieval import faiss_available


def naive(query, qlab, gallery=None, glab=None, ks=(1, 5, 10)):
    """Python loop over queries; pessimistic ties (irrelevant before relevant at equal score)."""
    self_ref = gallery is None
    if self_ref:
        gallery, glab = query, qlab
    def unit(rows):
        return [[x / max(math.sqrt(sum(t * t for t in v)), 1e-300) for x in v] for v in rows.double().tolist()]

    q, g = unit(query), unit(gallery)
    ql, gl = qlab.tolist(), glab.tolist()
    acc: dict[str, list[float]] = {}
    for i, qv in enumerate(q):
        cands = []
        for j, gv in enumerate(g):
            if self_ref and j == i:
                continue
            s = sum(a * b for a, b in zip(qv, gv, strict=True))
            cands.append((-s, gl[j] == ql[i]))  # sort key: score desc, then irrelevant (False) first
        cands.sort(key=lambda t: (t[0], t[1]))
        rel = [r for _, r in cands]
        r = sum(rel)
        if r == 0:
            continue
        hits, ap, apr = 0, 0.0, 0.0
        for pos, is_rel in enumerate(rel, 1):
            if is_rel:
                hits += 1
                ap += hits / pos
                if pos <= r:
                    apr += hits / pos
        vals = {"map": ap / r, "map@r": apr / r, "precision@1": float(rel[0])}
        for k in ks:
            vals[f"recall@{k}"] = float(any(rel[:k]))
        for name, v in vals.items():
            acc.setdefault(name, []).append(v)
    out = {name: sum(v) / len(v) for name, v in acc.items()}
    out["queries"] = float(len(acc["map"]))
    return out


def _data(n=60, d=8, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, classes, (n,), generator=g)
    centers = torch.randn(classes, d, generator=g)
    x = centers[lab] + 1.2 * torch.randn(n, d, generator=g)
    return x, lab


BACKENDS = ["torch"] + (["faiss"] if faiss_available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_leave_one_out_matches_naive(backend):
    x, y = _data()
    got = class_retrieval_metrics(x, y, ks=(1, 3, 100), backend=backend, chunk_size=7)
    want = naive(x, y, ks=(1, 3, 100))
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


@pytest.mark.parametrize("backend", BACKENDS)
def test_separate_gallery_matches_naive_with_ties_and_lone_queries(backend):
    x, y = _data(40, seed=1)
    gx, gy = _data(50, seed=2)
    gx = torch.cat([gx, gx[:10]])  # exact duplicates: tied scores
    gy = torch.cat([gy, (gy[:10] + 1) % 5])  # ... with other labels
    y[0] = 9  # a query with no relevant reference: left out
    got = class_retrieval_metrics(x, y, gx, gy, ks=(2, 5), backend=backend)
    want = naive(x, y, gx, gy, ks=(2, 5))
    assert got["queries"] == 39.0
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


@pytest.mark.parametrize("backend", BACKENDS)
def test_collapsed_embeddings_score_worst_not_best(backend):
    x = torch.ones(20, 4)
    y = torch.arange(20) % 2
    got = class_retrieval_metrics(x, y, backend=backend)
    want = naive(x, y)
    assert got["precision@1"] == 0.0
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


def test_hand_values():
    # One query, gallery ranked rel = [0, 1, 1, 0]: R = 2, AP = (1/2 + 2/3)/2, MAP@R = (1/2)/2.
    q = torch.tensor([[1.0, 0.0]])
    g = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0]])
    got = class_retrieval_metrics(q, torch.tensor([1]), g, torch.tensor([0, 1, 1, 0]), ks=(1, 2))
    assert got["map"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert got["map@r"] == pytest.approx(0.25)
    assert got["precision@1"] == 0.0 and got["recall@1"] == 0.0 and got["recall@2"] == 1.0


@pytest.mark.skipif(not faiss_available(), reason="faiss not installed")
def test_faiss_equals_torch_on_a_larger_gallery():
    x, y = _data(600, d=16, classes=12, seed=3)
    a = class_retrieval_metrics(x[:200], y[:200], x[200:], y[200:], backend="torch")
    b = class_retrieval_metrics(x[:200], y[:200], x[200:], y[200:], backend="faiss")
    assert a == pytest.approx(b, abs=1e-12)


def test_against_pytorch_metric_learning():
    amod = pytest.importorskip("pytorch_metric_learning.utils.accuracy_calculator")
    x, y = _data(120, d=8, classes=6, seed=4)
    x = torch.nn.functional.normalize(x, dim=1)  # PML ranks by L2 distance: on unit rows, the cosine order
    calc = amod.AccuracyCalculator(include=("mean_average_precision_at_r", "precision_at_1"), k="max_bin_count")
    ref = calc.get_accuracy(x, y, x, y, ref_includes_query=True)
    got = class_retrieval_metrics(x, y, backend="torch")
    assert got["map@r"] == pytest.approx(ref["mean_average_precision_at_r"], abs=1e-6)
    assert got["precision@1"] == pytest.approx(ref["precision_at_1"], abs=1e-6)
    gx, gy = _data(90, d=8, classes=6, seed=5)
    gx = torch.nn.functional.normalize(gx, dim=1)
    ref = calc.get_accuracy(x, y, gx, gy, ref_includes_query=False)
    got = class_retrieval_metrics(x, y, gx, gy)
    assert got["map@r"] == pytest.approx(ref["mean_average_precision_at_r"], abs=1e-6)
    assert got["precision@1"] == pytest.approx(ref["precision_at_1"], abs=1e-6)


def test_numpy_and_half_inputs():
    x, y = _data(30)
    a = class_retrieval_metrics(x.numpy(), y.numpy())
    b = class_retrieval_metrics(x.to(torch.bfloat16), y)
    assert a == pytest.approx(class_retrieval_metrics(x, y))
    assert abs(a["map"] - b["map"]) < 0.1


@pytest.mark.parametrize("kwargs, match", [
    (dict(ks=()), "ks"),
    (dict(ks=(0,)), "ks"),
    (dict(backend="annoy"), "backend"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(gallery_emb=torch.zeros(3, 4)), "gallery_labels"),
    (dict(gallery_emb=torch.zeros(3, 5), gallery_labels=torch.zeros(3, dtype=torch.long)), "gallery_emb"),
])
def test_bad_input_names_the_argument(kwargs, match):
    x, y = _data(10, d=4)
    with pytest.raises((ValueError, TypeError), match=match):
        class_retrieval_metrics(x, y, **kwargs)


def test_bad_embeddings_and_labels():
    x, y = _data(10, d=4)
    with pytest.raises((ValueError, TypeError), match="query_labels"):
        class_retrieval_metrics(x, y[:5])
    with pytest.raises((ValueError, TypeError), match="query_emb"):
        class_retrieval_metrics(x.clone().fill_(float("nan")), y)
    with pytest.raises(ValueError, match="query_labels"):
        class_retrieval_metrics(x, torch.arange(10))  # every class a singleton
    with pytest.raises((ValueError, TypeError), match="query_labels"):
        class_retrieval_metrics(x, np.zeros(10, dtype=np.float32))
