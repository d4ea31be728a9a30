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

from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import PairedTest, paired_comparison


def load_recipe(path: str | Path) -> dict[str, Any]:
    """The plain-data recipe at ``path`` (YAML, bounded safe loader), with ``seeds`` and ``claims`` required,
    checked against its paper's strict schema (:func:`contrastkit.papers._schema.check_paper_yaml`: an
    unknown key or a wrong type raises ``RecipeError`` naming the dotted key)."""
    from contrastkit._yaml import load_yaml
    from contrastkit.papers._schema import RecipeError, check_paper_yaml

    cfg = load_yaml(Path(path), source=str(path))
    if cfg is None:
        raise RecipeError(f"recipe {path}: the file is empty; expected a mapping with 'seeds' and 'claims'")
    if not isinstance(cfg, dict):
        raise RecipeError(f"recipe {path}: expected a mapping at the top level, got {type(cfg).__name__}")
    for key in ("seeds", "claims"):
        if key not in cfg:
            raise RecipeError(f"recipe {path}: missing the {key!r} section")
    return check_paper_yaml(cfg, path)


def run_seeds(cfg: dict[str, Any], quick: bool, seeds: Sequence[int] | None) -> list[int]:
    """The seeds of this run: ``seeds`` if given, else the recipe's (the quick override's when ``quick``)."""
    if seeds is not None:
        return list(seeds)
    if quick:
        return list(cfg.get("quick", {}).get("seeds", cfg["seeds"][:1]))
    return list(cfg["seeds"])


def per_seed_values(result: ReproResult) -> dict[str, list[float]]:
    """The per-seed value lists of ``result.metrics`` (every metric stored as ``{"values": [...], ...}``)."""
    return {k: v["values"] for k, v in result.metrics.items() if isinstance(v, dict) and "values" in v}


def rerun_per_seed(run: Callable[..., ReproResult], recipe: str | Path, quick: bool,
                   seeds: Sequence[int] | None) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Load the paired recipe, rerun the miniature ``run(quick=, seeds=)`` on its seeds, and return
    ``(recipe, per-seed values)`` for a ``decide`` step."""
    cfg = load_recipe(recipe)
    return cfg, per_seed_values(run(quick=quick, seeds=run_seeds(cfg, quick, seeds)))


def mean_precondition(name: str, values: Sequence[float], minimum: float, label: str, *, digits: int = 2) -> Claim:
    """Precondition ``mean(values) >= minimum`` (the miniature shows the phenomenon the claim is about)."""
    return Claim(name, sum(values) / len(values) >= minimum,
                 f"{label} {fmt(list(values), digits=digits)} (min {minimum})", precondition=True)


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


def merge_per_seed(parts: Sequence[dict[str, Any]], path: str = "metrics") -> dict[str, Any]:
    """The per-seed metrics of runs over disjoint seeds, concatenated in order (resume a reproduction).

    Lists (one value per seed, and ``seeds`` itself) are concatenated, mappings merged key by key;
    wall / CPU ``seconds`` are summed; any other value must be equal in every part (a design number that
    does not depend on the seed), else ``ValueError`` names its key. A key missing from some part is an
    error too (its seeds would silently drop out of the comparison), except a timing (``*seconds``),
    which is then dropped: the total is unknown.
    """
    if not parts:
        raise ValueError(f"{path}: expected at least one stored result to merge")
    first = parts[0]
    if isinstance(first, dict):
        if all(isinstance(p, dict) for p in parts):
            timings = {k for p in parts for k in p if k.endswith("seconds")}
            partial = {k for k in timings if not all(k in p for p in parts)}
            parts = [{k: v for k, v in p.items() if k not in partial} for p in parts]
            first = parts[0]
        keys = list(first)
        for p in parts[1:]:
            if not isinstance(p, dict) or set(p) != set(keys):
                raise ValueError(f"{path}: the stored results have different keys "
                                 f"({sorted(keys)} vs {sorted(p) if isinstance(p, dict) else type(p).__name__})")
        return {k: merge_per_seed([p[k] for p in parts], f"{path}.{k}") for k in keys}
    if isinstance(first, list):
        if not all(isinstance(p, list) for p in parts):
            raise ValueError(f"{path}: expected per-seed lists in every stored result")
        return [v for p in parts for v in p]
    if path.endswith("seconds"):
        return sum(float(p) for p in parts)
    if any(p != first for p in parts[1:]):
        raise ValueError(f"{path}: differs between the stored results ({[p for p in parts]}); cannot merge")
    return first


def main(reproduce: Callable[..., ReproResult], argv: list[str] | None = None,
         redecide: Callable[[dict[str, Any], bool], ReproResult] | None = None) -> int:
    """``python -m contrastkit.papers.NAME.reproduce [--quick] [--json FILE] [--seeds 0,1,2]
    [--merge A.json B.json ...]``.

    ``--merge`` (papers that give ``redecide(metrics, quick)``) decides the claims from stored results of
    runs over disjoint seeds (:func:`merge_per_seed`), training nothing: a reproduction is resumed by
    running only its missing seeds with ``--seeds`` and merging.
    """
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--seeds", type=str, default=None, help="comma-separated seeds (default: the recipe's)")
    if redecide is not None:
        p.add_argument("--merge", type=Path, nargs="+", default=None,
                       help="stored result JSONs of disjoint seeds to decide together (no training)")
    a = p.parse_args(argv)
    if getattr(a, "merge", None):
        if a.quick or a.seeds is not None:
            p.error("--merge decides stored full runs; it takes neither --quick nor --seeds")
        stored = [json.loads(f.read_text()) for f in a.merge]
        if any(s.get("quick") for s in stored):
            p.error("--merge: a stored result is a quick (smoke) run")
        assert redecide is not None
        result = redecide(merge_per_seed([s["metrics"] for s in stored]), False)
    else:
        seeds = None if a.seeds is None else [int(s) for s in a.seeds.split(",")]
        result = reproduce(quick=a.quick, seeds=seeds)
    print(result.summary())
    if a.json is not None:
        a.json.write_text(json.dumps(result.to_dict(), indent=2, default=float))
    return 1 if result.outcome() == "fail" else 0
