"""CLIP / LiT claims decided by one-sided t-tests over seeds, with a precondition (LiT learns).

The miniature itself is :func:`contrastkit.papers.clip.reproduce.reproduce` (unchanged training); this module
runs it over the recipe's seeds and decides the claims from its per-seed numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison

RECIPE = Path(__file__).with_name("paired.yaml")


def above(name: str, values: list[float], threshold: float, *, precondition: bool = False) -> Claim:
    """``mean(values) > threshold`` by a one-sided t-test (the paired test against a constant)."""
    test = paired_comparison(values, [threshold] * len(values))
    return Claim.from_test(f"{name} > {threshold:.0%}", test, scale=100, unit=" points",
                           precondition=precondition, note=f"effect = mean - threshold; measured {fmt(values, 100)}%")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    from contrastkit.papers.clip.reproduce import reproduce as clip

    cfg = load_recipe(recipe)
    old = clip(quick=quick, seeds=run_seeds(cfg, quick, seeds))
    return decide(cfg, old.metrics, quick)


def decide(cfg: dict[str, Any], rows: dict[str, dict[str, list[float]]], quick: bool) -> ReproResult:
    c = cfg["claims"]
    lit_zs = rows["lit"]["zero_shot"]
    num = paired(rows["lit"]["zero_shot_numeral"], rows["clip"]["zero_shot_numeral"], c["lit_numeral"])
    claims = [
        Claim("LiT learns with the training prompt", sum(lit_zs) / len(lit_zs) >= c["lit_zero_shot_min"],
              f"LiT zero-shot {fmt(lit_zs, 100)}% (min {c['lit_zero_shot_min']:.0%})", precondition=True),
        above("CLIP from scratch: digits zero-shot", rows["clip"]["zero_shot"], c["clip_digits"]["threshold"]),
        above("CLIP from scratch: Fashion-MNIST zero-shot", rows["clip_fashion"]["zero_shot"],
              c["clip_fashion"]["threshold"]),
        power_precondition("LiT - CLIP on unseen numeral prompts", num, c["lit_numeral"]["paper_effect"], scale=100,
                           unit=" points"),
        Claim.from_test(f"LiT beats CLIP on unseen numeral prompts by > {c['lit_numeral']['margin']:.0%}", num,
                        scale=100, unit=" points",
                        note=f"LiT {fmt(rows['lit']['zero_shot_numeral'], 100)}% vs CLIP "
                             f"{fmt(rows['clip']['zero_shot_numeral'], 100)}%"),
    ]
    return ReproResult("clip", gate(claims, quick), rows, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
