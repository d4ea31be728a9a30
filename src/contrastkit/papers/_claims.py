"""Shared pieces of the paper reproductions: recipes, seeds, and claims decided by paired per-seed tests.

A paired claim comes with a *power precondition*: the design's minimum detectable effect (MDE, one-sided
paired t-test at ``alpha`` and ``power``) must not exceed the effect the paper reports. An inconclusive
comparison without that power is ``not testable`` (the miniature could not have shown the claim), never a
failure of the method; a comparison that holds, or whose CI lies wholly below its margin, is evidence
whatever its MDE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from contrastkit.reproduce.result import Claim, ReproResult
from contrastkit.reproduce.stats import PairedTest, paired_comparison


def load_recipe(path: str | Path) -> dict[str, Any]:
    """The plain-data recipe at ``path`` (YAML, safe loader), with ``seeds`` and ``claims`` required."""
    import yaml

    cfg = yaml.safe_load(Path(path).read_text())
    for key in ("seeds", "claims"):
        if key not in cfg:
            raise ValueError(f"recipe {path}: missing the {key!r} section")
    return cfg


def run_seeds(cfg: dict[str, Any], quick: bool, seeds: Sequence[int] | None) -> list[int]:
    """The seeds of this run: ``seeds`` if given, else the recipe's (the quick override's when ``quick``)."""
    if seeds is not None:
        return list(seeds)
    if quick:
        return list(cfg.get("quick", {}).get("seeds", cfg["seeds"][:1]))
    return list(cfg["seeds"])


def paired(method: Sequence[float], baseline: Sequence[float], spec: dict[str, Any], *,
           sd_floor: float = 0.0) -> PairedTest:
    """The paired test a claim spec describes (``margin``, ``alpha``, ``power``; lower-is-better metrics
    are negated by the caller)."""
    return paired_comparison(method, baseline, margin=float(spec.get("margin", 0.0)),
                             alpha=float(spec.get("alpha", 0.05)), power=float(spec.get("power", 0.8)),
                             sd_floor=sd_floor)


def power_precondition(name: str, test: PairedTest, paper_effect: float, *, scale: float = 1.0,
                       unit: str = "", guards: str | None = None) -> Claim:
    """``MDE <= paper_effect``: the design could have shown the claim.

    An underpowered comparison is still conclusive when it held (evidence for the claim) or when its whole
    CI lies below the margin (the effect is significantly opposite: evidence against it); only an
    underpowered, inconclusive comparison makes the outcome ``not testable``.
    """
    powered = test.mde <= paper_effect
    opposite = test.ci[1] < test.margin
    ok = powered or test.holds or opposite
    detail = (f"MDE {test.mde * scale:.3g}{unit} vs the paper's effect {paper_effect * scale:.3g}{unit} "
              f"(n = {test.n} seeds, power {test.power:.0%})")
    if not powered and test.holds:
        detail += "; underpowered, but the comparison held"
    elif not powered and opposite:
        detail += "; underpowered, but the CI lies below the margin (significantly opposite effect)"
    return Claim(f"the design can detect the paper's effect on {name}", ok, detail, precondition=True,
                 guards=guards)


def gate(claims: list[Claim], quick: bool, powered_in_quick: bool = False) -> list[Claim]:
    """A quick run evaluates nothing: every claim and precondition becomes non-gating (measured only)."""
    if quick and not powered_in_quick:
        for c in claims:
            c.gating = False
    return claims


def main(reproduce: Callable[..., ReproResult], argv: list[str] | None = None) -> int:
    """``python -m contrastkit.papers.NAME.reproduce [--quick] [--json FILE] [--seeds 0,1,2]``."""
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--seeds", type=str, default=None, help="comma-separated seeds (default: the recipe's)")
    a = p.parse_args(argv)
    seeds = None if a.seeds is None else [int(s) for s in a.seeds.split(",")]
    result = reproduce(quick=a.quick, seeds=seeds)
    print(result.summary())
    if a.json is not None:
        a.json.write_text(json.dumps(result.to_dict(), indent=2, default=float))
    return 1 if result.outcome() == "fail" else 0
