"""The reproductions that passed before, under the same rules: preconditions and paired per-seed claims,
decided on fabricated per-seed numbers (the miniatures themselves are tested in test_multimodal_repro.py
and test_generation_repro.py)."""

from __future__ import annotations

from contrastkit.papers._claims import load_recipe
from contrastkit.papers._multimodal import RECIPES
from contrastkit.papers.clip import reproduce as clip
from contrastkit.papers.fini import reproduce as fini
from contrastkit.papers.hydra import reproduce as hydra
from contrastkit.papers.rankgen import paired as rankgen
from contrastkit.papers.simctg import paired as simctg

J = [0.004, -0.006, 0.003, 0.0, -0.002]


def v(x: float, k: float = 1.0, rev: bool = False) -> list[float]:
    return [x + k * d for d in (J[::-1] if rev else J)]


def test_clip() -> None:
    cfg = load_recipe(RECIPES / "clip" / "recipe.yaml")
    rows = {"clip": {"zero_shot": v(0.97), "zero_shot_numeral": v(0.10)},
            "lit": {"zero_shot": v(0.95, rev=True), "zero_shot_numeral": v(0.95, rev=True)},
            "clip_fashion": {"zero_shot": v(0.55)}}
    assert clip.decide(cfg, rows, quick=False).outcome() == "pass"
    assert clip.decide(cfg, dict(rows, clip_fashion={"zero_shot": v(0.49)}), quick=False).outcome() == "fail"
    dead = dict(rows, lit={"zero_shot": v(0.2), "zero_shot_numeral": v(0.2)})
    assert clip.decide(cfg, dead, quick=False).outcome() == "not testable"


def test_hydra() -> None:
    cfg = load_recipe(RECIPES / "hydra" / "recipe.yaml")
    acc = {"supcon": v(0.97), "supcon_arbitrary": v(0.85, rev=True), "hydra_arbitrary": v(0.96, 0.5)}
    assert hydra.decide(cfg, {"linear_probe": acc}, quick=False).outcome() == "pass"
    worse = dict(acc, hydra_arbitrary=v(0.90, 0.5))
    assert hydra.decide(cfg, {"linear_probe": worse}, quick=False).outcome() == "fail"
    no_harm = dict(acc, supcon_arbitrary=v(0.97, rev=True))
    assert hydra.decide(cfg, {"linear_probe": no_harm}, quick=False).outcome() == "not testable"


def test_fini() -> None:
    cfg = load_recipe(RECIPES / "fini" / "recipe.yaml")
    acc = {"basic_clip": v(0.88), "basic_simclr": v(0.90, rev=True), "basic_siamlip": v(0.89),
           "rocket_clip": v(0.93, 0.5)}
    assert fini.decide(cfg, {"zero_shot": acc}, quick=False).outcome() == "pass"
    assert fini.decide(cfg, {"zero_shot": dict(acc, rocket_clip=v(0.89))}, quick=False).outcome() == "fail"
    dead = {k: [x - 0.6 for x in val] for k, val in acc.items()}
    assert fini.decide(cfg, {"zero_shot": dead}, quick=False).outcome() == "not testable"


def test_simctg() -> None:
    cfg = load_recipe(simctg.RECIPE)
    per = {"mle_isotropy": v(0.6), "simctg_isotropy": v(0.9, rev=True),
           "mle_greedy_rep-2": v(40.0, 100), "mle_contrastive_rep-2": v(2.0, 100, rev=True),
           "simctg_greedy_rep-2": v(35.0, 100), "simctg_contrastive_rep-2": v(1.5, 100, rev=True)}
    assert simctg.decide(cfg, per, quick=False).outcome() == "pass"
    assert simctg.decide(cfg, dict(per, simctg_isotropy=v(0.55)), quick=False).outcome() == "fail"
    no_degeneration = dict(per, **{"mle_greedy_rep-2": v(3.0, 100)})
    assert simctg.decide(cfg, no_degeneration, quick=False).outcome() == "not testable"


def test_rankgen() -> None:
    cfg = load_recipe(rankgen.RECIPE)
    per = {"topic_gap_sampled": v(0.05), "topic_gap_reranked": v(0.01, rev=True)}
    assert rankgen.decide(cfg, per, quick=False).outcome() == "pass"
    assert rankgen.decide(cfg, dict(per, topic_gap_reranked=v(0.06)), quick=False).outcome() == "fail"
    learned = {"topic_gap_sampled": v(0.01), "topic_gap_reranked": v(0.012)}
    assert rankgen.decide(cfg, learned, quick=False).outcome() == "not testable"
    assert rankgen.decide(cfg, per, quick=True).outcome() == "smoke"


def test_power_precondition_only_excuses_an_inconclusive_comparison() -> None:
    from contrastkit.papers._claims import power_precondition
    from contrastkit.reproduce.stats import paired_comparison

    base = [0.0] * 5
    inconclusive = paired_comparison([0.01, -0.02, 0.03, -0.01, 0.0], base)
    assert not power_precondition("x", inconclusive, paper_effect=0.001).passed
    opposite = paired_comparison([-0.5, -0.45, -0.55, -0.5, -0.48], base)  # CI wholly below 0
    assert opposite.ci[1] < 0 and opposite.mde > 0.001
    assert power_precondition("x", opposite, paper_effect=0.001).passed
    held = paired_comparison([0.5, 0.45, 0.55, 0.5, 0.48], base)
    assert power_precondition("x", held, paper_effect=0.001).passed


def test_rerun_per_seed_keeps_only_per_seed_metrics_and_recipe_seeds() -> None:
    from contrastkit.papers._claims import mean_precondition, rerun_per_seed
    from contrastkit.reproduce.result import ReproResult

    calls = []

    def run(quick: bool, seeds: list[int]) -> ReproResult:
        calls.append((quick, seeds))
        return ReproResult("x", metrics={"a": {"values": [1.0, 2.0], "mean": 1.5}, "b": 3.0, "c": {"mean": 1.0}})

    cfg, per = rerun_per_seed(run, simctg.RECIPE, quick=False, seeds=[7, 8])
    assert per == {"a": [1.0, 2.0]} and calls == [(False, [7, 8])]
    assert cfg == load_recipe(simctg.RECIPE)
    rerun_per_seed(run, simctg.RECIPE, quick=False, seeds=None)
    assert calls[-1] == (False, list(cfg["seeds"]))
    assert mean_precondition("p", [1.0, 3.0], 2.0, "m").passed
    assert not mean_precondition("p", [1.0, 2.9], 2.0, "m").passed


def test_merge_per_seed_concatenates_disjoint_seed_runs() -> None:
    import pytest

    from contrastkit.papers._claims import merge_per_seed

    a = {"acc": {"m": [1.0, 2.0], "b": [0.5, 0.6]}, "design": 3.0, "seeds": [0, 1], "seconds": 10.0}
    b = {"acc": {"m": [3.0], "b": [0.7]}, "design": 3.0, "seeds": [2], "seconds": 5.0}
    assert merge_per_seed([a, b]) == {"acc": {"m": [1.0, 2.0, 3.0], "b": [0.5, 0.6, 0.7]}, "design": 3.0,
                                      "seeds": [0, 1, 2], "seconds": 15.0}
    untimed = {k: v for k, v in b.items() if k != "seconds"}
    assert "seconds" not in merge_per_seed([a, untimed])
    with pytest.raises(ValueError, match="design"):
        merge_per_seed([a, dict(b, design=4.0)])
    with pytest.raises(ValueError, match="different keys"):
        merge_per_seed([a, {k: v for k, v in b.items() if k != "seeds"}])
    with pytest.raises(ValueError, match="at least one"):
        merge_per_seed([])
