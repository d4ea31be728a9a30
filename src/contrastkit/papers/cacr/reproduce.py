"""Reproduction of Contrastive Attraction and Contrastive Repulsion for Representation Learning (Zheng et al., TMLR
2023): CACR ≥ NT-Xent, also on long-tailed data.

Settings: ``papers/cacr/recipe.yaml``; measured figures: ``docs/results.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.papers._vision import _seeds, base_recipe, run, variant
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """CACR (Zheng et al. 2023) vs NT-Xent on balanced and long-tailed digits-on-canvas."""
    base = base_recipe("cacr")
    arms = {
        "ntxent": ["method.loss=infonce", "method.n_views=2", "method.loss_kwargs={temperature: 0.2}"],
        "cacr": ["method.loss=cacr", "method.n_views=5",
                 "method.loss_kwargs={alpha: 1.0, beta: 1.0, t_pos: 1.0, t_neg: 0.9}"],
    }
    acc: dict[tuple[str, str], list[float]] = {}
    for seed in _seeds(quick, seeds):
        for dataset in ("digits_canvas", "digits_canvas_longtail"):
            for arm, overrides in arms.items():
                recipe = variant(base, [f"seed={seed}", f"data.dataset={dataset}", *overrides], quick)
                metrics = run(recipe, cache=not quick)
                acc.setdefault((arm, dataset), []).append(metrics["linear_probe_accuracy"])
    m = {k: mean_std(v)[0] for k, v in acc.items()}
    bal = m[("cacr", "digits_canvas")] - m[("ntxent", "digits_canvas")]
    lt = m[("cacr", "digits_canvas_longtail")] - m[("ntxent", "digits_canvas_longtail")]
    claims = [
        Claim("balanced: CACR >= NT-Xent - 1 point", bal >= -0.01,
              f"CACR {fmt(acc[('cacr', 'digits_canvas')], 100)} vs NT-Xent "
              f"{fmt(acc[('ntxent', 'digits_canvas')], 100)} (gap {bal * 100:+.2f} points)", gating=not quick),
        Claim("long-tailed: CACR >= NT-Xent", lt >= 0,
              f"CACR {fmt(acc[('cacr', 'digits_canvas_longtail')], 100)} vs NT-Xent "
              f"{fmt(acc[('ntxent', 'digits_canvas_longtail')], 100)} (gap {lt * 100:+.2f} points)",
              gating=False),
    ]
    return ReproResult("cacr", claims, {f"{a}_{d}_linear_probe": v for (a, d), v in acc.items()}, quick)

