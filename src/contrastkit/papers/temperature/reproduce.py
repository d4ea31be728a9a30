"""Reproduction of Wang & Liu (CVPR 2021), "Understanding the behaviour of contrastive loss": as the
temperature falls, embeddings grow more uniform (lower ``L_U``) and less tolerant to semantically similar
samples; an explicit hard-negative loss at a large temperature restores uniformity.

Settings: ``papers/temperature/reproduce.yaml`` on the base training recipe ``papers/temperature/recipe.yaml``.

Claims (gating): per seed, the least-squares slope of ``L_U`` (and of the tolerance ``T``) against
``log tau`` is positive -- one-sided one-sample t-test of the per-seed slopes. Precondition (gating): NT-Xent
at every tau beats a random encoder of the same architecture in linear-probe accuracy (paired). The
hard-negative comparisons at the largest tau are reported, not gated. A quick run (one seed, two taus)
reports the slope's sign as measured: a value moving the wrong way is marked ``NO``; nothing is gated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._recipe_file import read_paper_yaml
from contrastkit.papers._vision import _seeds, base_recipe, run, variant
from contrastkit.papers.cacr.reproduce import random_encoder_probe
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison

HARD = -1.0  # key of the hard-negative arm in the measurements


def log_slope(taus: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against ``log(tau)`` (the per-seed trend)."""
    if len(taus) != len(values) or len(taus) < 2:
        raise ValueError(f"values: expected one value per tau ({len(taus)} >= 2), got {len(values)}")
    x = [math.log(t) for t in taus]
    mx, my = sum(x) / len(x), sum(values) / len(values)
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, values, strict=True)) / sxx


def temperature_claims(rows: dict[float, dict[str, list[float]]], taus: Sequence[float], alpha: float,
                       quick: bool, hard_key: float | None = None, hard_margin: float | None = None) -> list[Claim]:
    """Claims from per-seed measurements ``rows[tau][metric] = [seed values]``; ``hard_margin``: the
    non-inferiority margin of the hard-negative arm's accuracy (needed with ``hard_key``).

    Uniformity and tolerance claims: the per-seed slope against ``log tau`` is > 0 (one-sample t-test of
    the slopes, i.e. :func:`paired_comparison` of the slopes against 0). A quick run (one seed) reports the
    slope's sign as measured -- a value moving the wrong way is marked ``NO`` -- but gates nothing.
    """
    n = len(rows[taus[0]]["uniformity"])
    claims = []
    for metric, words in (("uniformity", "uniformity loss L_U"), ("tolerance", "tolerance T")):
        slopes = [log_slope(taus, [rows[t][metric][s] for t in taus]) for s in range(n)]
        test = paired_comparison(slopes, [0.0] * n, alpha=alpha)
        table = ", ".join(f"tau={t}: {fmt(rows[t][metric], digits=3)}" for t in taus)
        if quick:
            claims.append(Claim(f"{words} rises with tau (per-seed slope vs log tau > 0)", all(v > 0 for v in slopes),
                                f"slope {slopes[0]:+.3f} per log-unit of tau; {table}", gating=False))
        else:
            claims.append(Claim.from_test(f"{words} rises with tau (per-seed slope vs log tau > 0)", test,
                                          note=table))
    if hard_key is not None and hard_key in rows:
        plain, hard = rows[max(taus)], rows[hard_key]
        tol = paired_comparison(plain["tolerance"], hard["tolerance"], alpha=alpha)
        if hard_margin is None:
            raise ValueError("hard_margin: expected the accuracy margin of the hard-negative arm, got None")
        acc = paired_comparison(hard["linear_probe_accuracy"], plain["linear_probe_accuracy"], margin=hard_margin,
                                alpha=alpha)
        claims.append(Claim.from_test(f"hard negatives (top 10 %) at tau={max(taus)} lower tolerance vs plain", tol,
                                      gating=False))
        claims.append(Claim.from_test(f"hard negatives at tau={max(taus)} are at most {-hard_margin * 100:g} point "
                                      "worse than plain", acc,
                                      scale=100, unit=" pt", gating=False))
    return claims


def learning_precondition(rows: dict[float, dict[str, list[float]]], taus: Sequence[float],
                          random: list[float], alpha: float, quick: bool) -> Claim:
    """NT-Xent at every tau beats the random encoder (the worst tau's paired test decides)."""
    tests = {t: paired_comparison(rows[t]["linear_probe_accuracy"], random, alpha=alpha) for t in taus}
    worst = min(taus, key=lambda t: tests[t].effect)
    return Claim.from_test(f"NT-Xent at every tau beats a random encoder (worst: tau={worst})", tests[worst],
                           scale=100, unit=" pt", gating=not quick, precondition=True,
                           note=f"random encoder {fmt(random, 100)} %")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Temperature sweep (module docstring)."""
    import torch

    base = base_recipe("temperature")
    settings: dict[str, Any] = read_paper_yaml(Path(__file__).parent, "temperature")
    steps = settings["quick_max_steps"] if quick else None  # a quick run: a few steps of every arm
    taus = tuple(settings["quick_taus"] if quick else settings["taus"])
    alpha = float(settings["alpha"])
    chosen = _seeds(quick, settings["seeds"] if seeds is None else seeds)
    rows: dict[float, dict[str, list[float]]] = {}
    random: list[float] = []
    keys = ("uniformity", "tolerance", "linear_probe_accuracy")
    for seed in chosen:
        arms = [(tau, [f"seed={seed}", f"method.loss_kwargs.temperature={tau}"]) for tau in taus]
        if not quick:
            hard = settings["hard_negatives"]
            arms.append((HARD, [f"seed={seed}", f"method.loss={hard['loss']}",
                                f"method.loss_kwargs={{temperature: {max(taus)}, fraction: {hard['fraction']}}}"]))
        for key, overrides in arms:
            metrics = run(variant(base, overrides, steps), cache=not quick)
            for k in keys:
                rows.setdefault(key, {}).setdefault(k, []).append(metrics[k])
        torch.manual_seed(seed)
        random.append(random_encoder_probe(variant(base, [f"seed={seed}"], steps)))
    claims = [learning_precondition(rows, taus, random, alpha, quick),
              *temperature_claims(rows, taus, alpha, quick, None if quick else HARD,
                                 settings["hard_negatives"]["margin"])]
    metrics = {f"tau={t}": v for t, v in rows.items()} | {"random_linear_probe": random, "seeds": list(chosen)}
    return ReproResult("temperature", claims, metrics, quick)
