"""mnrl-moe: fortune halves as pairs, per-seed splits, pair metrics against brute force, the decision rules on
hand values, and the quick reproduction (Debian fortunes, or the mini 20 Newsgroups when they are absent)."""

import pytest
import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.mnrl_moe import reproduce as moe


def test_halves_and_split_rows():
    assert moe.halves("a b c d e") == ("a b", "c d e")
    with pytest.raises(ValueError, match="text"):
        moe.halves("word")
    domains = torch.tensor([0] * 10 + [1] * 10)
    train, test = moe.split_rows(domains, 3, seed=0)
    assert len(test) == 6 and len(train) == 14 and not set(train.tolist()) & set(test.tolist())
    assert [int((domains[test] == d).sum()) for d in (0, 1)] == [3, 3]
    assert not torch.equal(moe.split_rows(domains, 3, seed=1)[1], test)


def test_pair_metrics_equal_brute_force():
    from sklearn.metrics import f1_score

    gen = torch.Generator().manual_seed(0)
    a, p = torch.randn(12, 6, generator=gen), torch.randn(12, 6, generator=gen)
    p[:6] = a[:6] + 0.1 * p[:6]
    m = moe.pair_metrics(a, p)
    an, pn = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(p, dim=1)
    sim = an @ pn.T
    ranks = (sim > sim.diag()[:, None]).sum(1) + 1
    assert m["P@1"] == pytest.approx(float((ranks == 1).double().mean()), abs=1e-9)
    assert m["MRR"] == pytest.approx(float((1.0 / ranks).mean()), abs=1e-6)
    scores = torch.cat([sim.diag(), (an * pn.roll(-1, 0)).sum(1)])
    y = [1] * 12 + [0] * 12
    best = max(f1_score(y, (scores >= t).int().tolist()) for t in scores.tolist())
    assert m["max_f1"] == pytest.approx(best, abs=1e-9)


def _values(moe_gap: float, learn: float = 0.05):
    seeds = [0.0, 0.01, -0.01]
    out = {}
    for arm, shift in (("base", 0.0), ("shared", learn), ("moe", learn + moe_gap)):
        out[arm] = {d: {m: [0.6 + shift + s + (0.002 * i if arm == "moe" else 0.0) for i, s in enumerate(seeds)]
                        for m in ("P@1", "MRR", "max_f1")} for d in ("a", "b")}
    return out


def test_decide_outcomes_on_hand_values():
    cfg = load_recipe(moe.RECIPE)
    assert moe.decide(cfg, _values(0.05), ["a", "b"], quick=False).outcome() == "pass"
    assert moe.decide(cfg, _values(-0.10), ["a", "b"], quick=False).outcome() == "fail"
    # the shared model does not learn: nothing can be concluded
    assert moe.decide(cfg, _values(0.05, learn=-0.05), ["a", "b"], quick=False).outcome() == "not testable"
    assert moe.decide(cfg, _values(0.05), ["a", "b"], quick=True).outcome() == "smoke"


@pytest.mark.requires_fortunes
def test_quick_reproduction_on_fortunes():
    res = moe.reproduce(quick=True)
    assert res.outcome() == "smoke" and res.metrics["corpus"] == "fortunes"
    for arm in ("base", "shared", "moe"):
        for d in ("computers", "politics"):
            assert 0.0 <= res.metrics[f"{arm}/{d}/max_f1"]["mean"] <= 1.0


def test_quick_reproduction_falls_back_without_fortunes(monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    res = moe.reproduce(quick=True)
    assert res.outcome() == "smoke" and res.metrics["corpus"] == "newsgroups"
    with pytest.raises(FileNotFoundError, match="fortunes"):
        moe.reproduce(quick=False, seeds=[0])
