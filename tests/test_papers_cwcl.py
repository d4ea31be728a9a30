"""CWCL reproduction: the caption-similarity AUC against a naive pair loop, the precondition logic with
fabricated per-seed numbers, and the quick (smoke) run."""

from __future__ import annotations

import itertools

import pytest
import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.cwcl import reproduce as cw


def test_similarity_auc_matches_naive_pair_loop() -> None:
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(9, 5, generator=g)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 1])
    z = torch.nn.functional.normalize(emb.double(), dim=1)
    same, other = [], []
    for i, j in itertools.combinations(range(9), 2):
        (same if labels[i] == labels[j] else other).append(float(z[i] @ z[j]))
    wins = sum((a > b) + 0.5 * (a == b) for a in same for b in other)
    assert cw.similarity_auc(emb, labels) == pytest.approx(wins / (len(same) * len(other)))
    # perfectly class-separated embeddings: AUC 1
    onehot = torch.eye(3)[labels] + 0.01 * torch.randn(9, 3, generator=g)
    assert cw.similarity_auc(onehot, labels) == 1.0
    with pytest.raises(ValueError, match="labels"):
        cw.similarity_auc(emb[:3], torch.tensor([0, 1, 2]))


def _acc(base: float, deltas: list[float]) -> list[float]:
    return [base + d for d in deltas]


def test_precondition_failure_gives_not_testable_never_fail() -> None:
    cfg = load_recipe(cw.RECIPE)
    jitter = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.002, 0.0005, -0.0005]
    infonce = _acc(0.60, jitter)
    # the oracle does not beat InfoNCE and CWCL is worse: no soft target can help -> not testable
    acc = {"infonce": infonce, "oracle": _acc(0.60, jitter[::-1]), "cwcl": _acc(0.55, jitter)}
    r = cw.decide(cfg, acc, auc=0.9, quick=False)
    assert r.outcome() == "not testable"
    assert "NOT TESTABLE" in r.summary() and "PASSED" not in r.summary()
    # frozen similarities without class information: not testable even if CWCL wins
    acc = {"infonce": infonce, "oracle": _acc(0.70, jitter), "cwcl": _acc(0.68, jitter)}
    assert cw.decide(cfg, acc, auc=0.55, quick=False).outcome() == "not testable"


def test_outcome_pass_and_fail_when_preconditions_hold() -> None:
    cfg = load_recipe(cw.RECIPE)
    jitter = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.002, 0.0005, -0.0005]
    infonce = _acc(0.60, jitter)
    win = {"infonce": infonce, "oracle": _acc(0.70, jitter[::-1]), "cwcl": _acc(0.66, jitter[1:] + jitter[:1])}
    r = cw.decide(cfg, win, auc=0.9, quick=False)
    assert r.outcome() == "pass" and r.summary().splitlines()[0] == "cwcl: PASSED"
    claim = r.claims[-1]
    assert claim.test is not None and claim.test.effect == pytest.approx(0.06, abs=1e-3)
    assert claim.test.ci[0] < claim.test.effect < claim.test.ci[1]
    lose = dict(win, cwcl=_acc(0.58, jitter[1:] + jitter[:1]))
    assert cw.decide(cfg, lose, auc=0.9, quick=False).outcome() == "fail"


@pytest.mark.requires_fashion_mnist  # the LiT arm reads Fashion-MNIST (optional data)
def test_quick_run_is_a_smoke_run() -> None:
    r = cw.reproduce(quick=True)
    assert r.outcome() == "smoke"
    assert r.summary().splitlines()[0] == "cwcl (quick): smoke run: claims not evaluated"
    assert set(r.metrics["zero_shot"]) == {"infonce", "cwcl", "oracle"}
    assert 0.0 <= r.metrics["caption_auc"] <= 1.0
