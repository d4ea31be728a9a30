"""ranking_metrics against a naive per-user loop (HR@k, NDCG@k, MRR; ties against the target)."""

import math

import numpy as np
import pytest
import torch

from contrastkit.evaluate import ranking_metrics, target_ranks


def naive(scores, target, ks, exclude=None):
    out = {f"{m}@{k}": 0.0 for k in ks for m in ("HR", "NDCG")}
    out["MRR"] = 0.0
    U, n_items = scores.shape
    for u in range(U):
        t = int(target[u])
        rank = 1
        for j in range(n_items):
            if j == t or (exclude is not None and bool(exclude[u, j])):
                continue
            if float(scores[u, j]) >= float(scores[u, t]):
                rank += 1
        for k in ks:
            if rank <= k:
                out[f"HR@{k}"] += 1 / U
                out[f"NDCG@{k}"] += 1 / math.log2(rank + 1) / U
        out["MRR"] += 1 / rank / U
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_matches_naive_loop_with_ties_and_exclude(dtype):
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (40, 30), generator=g).to(dtype)  # many ties
    target = torch.randint(0, 30, (40,), generator=g)
    exclude = torch.rand(40, 30, generator=g) < 0.2
    exclude[torch.arange(40), target] = False
    for ex in (None, exclude):
        got = ranking_metrics(scores, target, k=(1, 5, 10), exclude=ex, chunk_size=7)
        want = naive(scores.double(), target, (1, 5, 10), ex)
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_hand_values():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]])
    target = torch.tensor([2, 0])  # ranks 2 and 2
    out = ranking_metrics(scores, target, k=(1, 2))
    assert out["HR@1"] == 0.0 and out["HR@2"] == 1.0
    assert out["NDCG@2"] == pytest.approx(1 / math.log2(3))
    assert out["MRR"] == pytest.approx(0.5)
    assert target_ranks(scores, target).tolist() == [2, 2]


def test_constant_scorer_gets_zero():
    out = ranking_metrics(torch.zeros(5, 50), torch.arange(5), k=(5, 10, 20))
    assert all(out[k] == 0.0 for k in out if "@" in k)
    assert out["MRR"] == pytest.approx(1 / 50)


def test_numpy_inputs_and_perfect_scorer():
    scores = np.eye(4, dtype=np.float32)
    out = ranking_metrics(scores, np.arange(4), k=(1, 2))
    assert out["HR@1"] == 1.0 and out["NDCG@1"] == 1.0 and out["MRR"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": torch.tensor([0, 9])}, "target: item indices must lie in"),
        ({"target": torch.tensor([0, -1])}, "target: item indices must lie in"),
        ({"k": (5, 10)}, "k: cut-off 10 is larger than the number of items"),
        ({"k": ()}, "k: expected"),
        ({"exclude": torch.ones(2, 4, dtype=torch.bool)}, "exclude: masks the target"),
        ({"exclude": torch.zeros(2, 3, dtype=torch.bool)}, "exclude: expected shape"),
        ({"scores": torch.full((2, 4), float("nan"))}, "scores: contains NaN"),
        ({"scores": torch.zeros(0, 4)}, "scores: expected a non-empty"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"scores": torch.rand(2, 4), "target": torch.tensor([0, 1]), "k": (1,), "exclude": None} | kwargs
    with pytest.raises(ValueError, match=match):
        ranking_metrics(args["scores"], args["target"], k=args["k"], exclude=args["exclude"])


def test_bad_types():
    with pytest.raises(TypeError, match="target: expected integer"):
        ranking_metrics(torch.rand(2, 4), torch.tensor([0.0, 1.0]), k=1)
    with pytest.raises(TypeError, match="exclude: expected a bool"):
        ranking_metrics(torch.rand(2, 4), torch.tensor([0, 1]), k=1, exclude=torch.zeros(2, 4))
