"""Retrieval metrics against a naive per-query loop and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.evaluate import retrieval_metrics


def naive_retrieval(query, gallery, rel, ks):
    """Loop: rank the gallery per query (pessimistic ties), then the textbook formulas."""
    q = query.double().numpy()
    g = gallery.double().numpy()
    rel = rel.numpy()
    kmax = max(ks)
    out = {f"recall@{k}": 0.0 for k in ks}
    out["mrr"] = 0.0
    out[f"ndcg@{kmax}"] = 0.0
    for i in range(len(q)):
        scores = [float(q[i] @ g[j]) / (np.linalg.norm(q[i]) * np.linalg.norm(g[j])) for j in range(len(g))]
        # sort by score descending; on equal scores irrelevant items first (pessimistic)
        order = sorted(range(len(g)), key=lambda j: (-scores[j], bool(rel[i, j])))
        ranked = [bool(rel[i, j]) for j in order]
        for k in ks:
            out[f"recall@{k}"] += any(ranked[:k])
        out["mrr"] += 1.0 / (ranked.index(True) + 1)
        dcg = sum(1.0 / math.log2(r + 2) for r in range(min(kmax, len(g))) if ranked[r])
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(kmax, sum(ranked))))
        out[f"ndcg@{kmax}"] += dcg / idcg
    return {key: v / len(q) for key, v in out.items()}


def paired(n, d=6, noise=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    gallery = torch.randn(n, d, generator=g)
    query = gallery + noise * torch.randn(n, d, generator=g)
    return query, gallery


@pytest.mark.parametrize("ks", [(1, 5, 10), (2, 3)])
def test_single_relevant_matches_loop(ks):
    query, gallery = paired(40, seed=1)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(2))
    gallery = gallery[perm]
    relevant = torch.argsort(perm)  # query i's item now sits at position argsort(perm)[i]
    rel = torch.zeros(40, 40, dtype=torch.bool)
    rel[torch.arange(40), relevant] = True
    got = retrieval_metrics(query, gallery, relevant, ks=ks)
    want = naive_retrieval(query, gallery, rel, ks)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key
    assert 0.2 < got[f"recall@{ks[0]}"] < 1.0
    # the bool-matrix form gives the same numbers
    assert retrieval_metrics(query, gallery, rel, ks=ks) == pytest.approx(got)


def test_multi_relevant_matches_loop_and_chunking():
    g = torch.Generator().manual_seed(3)
    query = torch.randn(25, 5, generator=g)
    gallery = torch.randn(60, 5, generator=g)
    rel = torch.rand(25, 60, generator=g) < 0.1
    rel[torch.arange(25), torch.randint(0, 60, (25,), generator=g)] = True
    want = naive_retrieval(query, gallery, rel, (1, 5, 10))
    for chunk in (1, 4, 1024):
        got = retrieval_metrics(query, gallery, rel, chunk_size=chunk)
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=1e-12), (chunk, key)
    got_np = retrieval_metrics(query.numpy(), gallery.numpy(), rel.numpy())
    assert got_np == pytest.approx(want)


def test_hand_case():
    # gallery on the unit circle, query at angle 0: ranking is item 0, 1, 2, 3 (by angle)
    angles = torch.tensor([0.1, 0.5, 1.0, 2.0])
    gallery = torch.stack([angles.cos(), angles.sin()], 1)
    query = torch.tensor([[1.0, 0.0]])
    rel = torch.tensor([[False, True, False, True]])  # relevant at ranks 2 and 4
    got = retrieval_metrics(query, gallery, rel, ks=(1, 2, 3))
    assert got["recall@1"] == 0.0 and got["recall@2"] == 1.0 and got["recall@3"] == 1.0
    assert got["mrr"] == pytest.approx(0.5)
    # DCG@3 = 1/log2(3); IDCG@3 = 1 + 1/log2(3)
    assert got["ndcg@3"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_ties_are_pessimistic():
    # collapsed embeddings: every gallery item scores the same, so the relevant one is ranked last
    query = torch.ones(3, 4)
    gallery = torch.ones(5, 4)
    got = retrieval_metrics(query, gallery, torch.tensor([0, 2, 4]), ks=(1, 5))
    assert got["recall@1"] == 0.0
    assert got["recall@5"] == 1.0
    assert got["mrr"] == pytest.approx(1 / 5)
    assert got["ndcg@5"] == pytest.approx(1 / math.log2(6))


@pytest.mark.parametrize(
    "relevant,exc,match",
    [
        (torch.tensor([0, 1, 9]), ValueError, r"relevant: gallery indices"),
        (torch.tensor([0, 1]), ValueError, r"relevant: expected shape \(3,\)"),
        (torch.tensor([0.0, 1.0, 2.0]), TypeError, "relevant"),
        (torch.zeros(3, 4, dtype=torch.bool), ValueError, "at least one relevant"),
        (torch.ones(3, 5, dtype=torch.bool), ValueError, r"relevant: expected shape \(3, 4\)"),
        (torch.ones(3, 4, dtype=torch.long), TypeError, "bool"),
        ([0, 1, 2], TypeError, "relevant"),
    ],
)
def test_relevant_validation(relevant, exc, match):
    with pytest.raises(exc, match=match):
        retrieval_metrics(torch.randn(3, 2), torch.randn(4, 2), relevant)


def test_embedding_validation():
    with pytest.raises(ValueError, match="gallery_emb"):
        retrieval_metrics(torch.randn(3, 2), torch.randn(4, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="query_emb"):
        retrieval_metrics(torch.tensor([[float("nan"), 1.0]]), torch.randn(4, 2), torch.tensor([0]))
    with pytest.raises(ValueError, match="ks"):
        retrieval_metrics(torch.randn(3, 2), torch.randn(4, 2), torch.tensor([0, 1, 2]), ks=())
    with pytest.raises(ValueError, match="ks"):
        retrieval_metrics(torch.randn(3, 2), torch.randn(4, 2), torch.tensor([0, 1, 2]), ks=(0, 1))
