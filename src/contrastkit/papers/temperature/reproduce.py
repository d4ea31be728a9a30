"""Reproduction of Understanding the Behaviour of Contrastive Loss (Wang & Liu, CVPR 2021): lower τ → more uniform,
less tolerant.

Settings: ``papers/temperature/recipe.yaml``; measured figures: ``docs/results.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.papers._vision import _seeds, base_recipe, run, variant
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std


def _increasing(values: list[float], allowed_inversions: int) -> bool:
    inversions = sum(1 for x, y in zip(values, values[1:], strict=False) if y < x)
    return inversions <= allowed_inversions


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """Wang & Liu (2021): as tau falls, embeddings grow more uniform (lower L_U) and less tolerant."""
    base = base_recipe("temperature")
    taus = (0.1, 1.0) if quick else (0.1, 0.2, 0.5, 1.0)
    rows: dict[float, dict[str, list[float]]] = {}
    for seed in _seeds(quick, seeds):
        for tau in taus:
            recipe = variant(base, [f"seed={seed}", f"method.loss_kwargs.temperature={tau}"], quick)
            metrics = run(recipe, cache=not quick)
            for key in ("uniformity", "tolerance", "linear_probe_accuracy"):
                rows.setdefault(tau, {}).setdefault(key, []).append(metrics[key])
        if not quick:
            recipe = variant(base, [f"seed={seed}", "method.loss=hard_infonce",
                                    "method.loss_kwargs={temperature: 1.0, fraction: 0.1}"], quick)
            metrics = run(recipe, cache=not quick)
            for key in ("uniformity", "tolerance", "linear_probe_accuracy"):
                rows.setdefault(-1.0, {}).setdefault(key, []).append(metrics[key])
    unif = [mean_std(rows[t]["uniformity"])[0] for t in taus]
    tol = [mean_std(rows[t]["tolerance"])[0] for t in taus]
    table = "; ".join(f"tau={t}: L_U {fmt(rows[t]['uniformity'], digits=3)}, T {fmt(rows[t]['tolerance'], digits=3)}, "
                      f"acc {fmt(rows[t]['linear_probe_accuracy'], 100)}" for t in taus)
    claims = [
        Claim("uniformity loss rises with tau (one inversion allowed)", _increasing(unif, 1),
              f"L_U by tau {list(taus)}: {[round(u, 3) for u in unif]}", gating=not quick),
        Claim("tolerance rises with tau (one inversion allowed)", _increasing(tol, 1),
              f"T by tau {list(taus)}: {[round(t, 3) for t in tol]}", gating=not quick),
    ]
    if -1.0 in rows:
        hard_tol = mean_std(rows[-1.0]["tolerance"])[0]
        hard_acc = mean_std(rows[-1.0]["linear_probe_accuracy"])[0]
        plain_acc = mean_std(rows[1.0]["linear_probe_accuracy"])[0]
        claims.append(Claim("hard negatives (top 10%) at tau=1 lower tolerance vs plain tau=1",
                            hard_tol < tol[-1], f"T hard {hard_tol:.3f} vs plain {tol[-1]:.3f}", gating=False))
        claims.append(Claim("hard negatives at tau=1 are not worse than plain tau=1", hard_acc >= plain_acc - 0.01,
                            f"acc hard {hard_acc:.4f} vs plain {plain_acc:.4f}", gating=False))
    metrics = {"table": table} | {f"tau={t}": v for t, v in rows.items()}
    return ReproResult("temperature", claims, metrics, quick)

