"""Fini et al. claim decided by a paired per-seed test, with the precondition that basic CLIP learns.
The miniature is :func:`contrastkit.papers.fini.reproduce.reproduce`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("paired.yaml")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    from contrastkit.papers.fini.reproduce import reproduce as fini

    cfg = load_recipe(recipe)
    return decide(cfg, fini(quick=quick, seeds=run_seeds(cfg, quick, seeds)).metrics, quick)


def decide(cfg: dict[str, Any], metrics: dict[str, Any], quick: bool) -> ReproResult:
    c, acc = cfg["claims"], metrics["zero_shot"]
    aux = {k: v for k, v in acc.items() if k.startswith("basic_") and k != "basic_clip"}
    base = acc["basic_clip"]
    claims = [Claim("basic CLIP learns", sum(base) / len(base) >= c["basic_zero_shot_min"],
                    f"basic CLIP zero-shot {fmt(base, 100)}% (min {c['basic_zero_shot_min']:.0%})", precondition=True)]
    if aux and "rocket_clip" in acc:
        best = max(aux, key=lambda k: sum(aux[k]) / len(aux[k]))
        test = paired(acc["rocket_clip"], aux[best], c["recipe_vs_aux"])
        claims += [
            power_precondition("the recipe vs the best aux term", test, c["recipe_vs_aux"]["paper_effect"],
                               scale=100, unit=" points"),
            Claim.from_test("recipe gain over basic CLIP > the best aux-term gain", test, scale=100, unit=" points",
                            note=f"CLIP-rocket {fmt(acc['rocket_clip'], 100)}% vs {best} {fmt(aux[best], 100)}% "
                                 f"(basic CLIP {fmt(base, 100)}%)"),
        ]
    return ReproResult("fini", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
