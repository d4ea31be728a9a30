"""Reproduction of CACR (Zheng et al., TMLR 2023): CACR >= NT-Xent, with a larger gain after long-tailed
pre-training.

Settings: ``papers/cacr/reproduce.yaml`` (arms, seeds, margins, significance level) on the base training
recipe ``papers/cacr/recipe.yaml``.

Protocol (official code ``JegZheng/CACR-SSL``, ``small_scale_experiments``): ``main_ours.py --imbalanced``
only changes the *pre-training* set; ``linear_eval.py`` always trains the linear classifier on the full,
balanced training set. So here both arms are pre-trained on the balanced or the long-tailed
digits-on-canvas training split, and the linear probe is always fitted on the balanced training split
and tested on the balanced test split. (The earlier miniature probed on the long-tailed split itself,
with 2-3 images for the tail classes: that measures the probe's data, not the representation. Its
accuracy is still reported, not gated.)

Precondition (gating): long-tailed NT-Xent pre-training beats a randomly initialised encoder of the same
architecture (paired over seeds) -- the miniature learns a representation at all.
Claims (gating, paired one-sided t-tests over seeds):

* balanced pre-training: CACR is not worse than NT-Xent by more than ``balanced_margin`` (the prior
  success criterion of this miniature: CACR sees 5 views per step, so a gain here is not compute-matched);
* long-tailed pre-training: CACR > NT-Xent (margin ``longtail_margin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.papers._recipe_file import read_paper_yaml
from contrastkit.papers._vision import _seeds, base_recipe, run, variant
from contrastkit.pipeline.recipe import Recipe
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison

BALANCED, LONGTAIL = "digits_canvas", "digits_canvas_longtail"


def balanced_probe(model: Any, recipe: Recipe) -> dict[str, float]:
    """Linear probe fitted on the *balanced* training split (official ``linear_eval.py`` protocol)."""
    from contrastkit import evaluate as ev
    from contrastkit.pipeline.evaluation import embed
    from contrastkit.vision.data import get_image_dataset

    train = get_image_dataset(BALANCED, "train", **recipe.data.kwargs)
    test = get_image_dataset(BALANCED, "test", **recipe.data.kwargs)
    h_train, h_test = embed(model.encoder, train.images), embed(model.encoder, test.images)
    return {"balanced_probe_accuracy": ev.linear_probe(h_train, train.labels, h_test, test.labels, seed=recipe.seed)}


def random_encoder_probe(recipe: Recipe) -> float:
    """Balanced-probe accuracy of an untrained encoder of the recipe's architecture (seeded by the recipe)."""
    from contrastkit.pipeline.builders import build_model
    from contrastkit.pipeline.evaluation import baseline_metrics
    from contrastkit.vision.data import get_image_dataset

    train = get_image_dataset(BALANCED, "train", **recipe.data.kwargs)
    test = get_image_dataset(BALANCED, "test", **recipe.data.kwargs)
    metrics = baseline_metrics(
        lambda: build_model(recipe.model, train.images.shape[1], train.images.shape[-1]).encoder,
        train.images, train.labels, test.images, test.labels, seed=recipe.seed)
    return metrics["random_encoder_linear_probe_accuracy"]


def claims_from(acc: dict[str, list[float]], settings: dict[str, Any], quick: bool) -> list[Claim]:
    """Precondition and claims from per-seed accuracies (keys ``<arm>_<pretraining>`` and ``random``)."""
    alpha = settings["alpha"]
    pre = paired_comparison(acc["ntxent_longtail"], acc["random"], alpha=alpha)
    bal = paired_comparison(acc["cacr_balanced"], acc["ntxent_balanced"], margin=-settings["balanced_margin"],
                            alpha=alpha)
    lt = paired_comparison(acc["cacr_longtail"], acc["ntxent_longtail"], margin=settings["longtail_margin"],
                           alpha=alpha)
    gating = not quick
    return [
        Claim.from_test("long-tailed NT-Xent pre-training beats a random encoder (balanced probe)", pre,
                        scale=100, unit=" pt", gating=gating, precondition=True,
                        note=f"NT-Xent {fmt(acc['ntxent_longtail'], 100)} vs random {fmt(acc['random'], 100)} %"),
        Claim.from_test(f"balanced pre-training: CACR >= NT-Xent - {100 * settings['balanced_margin']:g} point",
                        bal, scale=100, unit=" pt", gating=gating,
                        note=f"CACR {fmt(acc['cacr_balanced'], 100)} vs NT-Xent {fmt(acc['ntxent_balanced'], 100)} %"),
        Claim.from_test("long-tailed pre-training, balanced probe: CACR > NT-Xent", lt, scale=100, unit=" pt",
                        gating=gating,
                        note=f"CACR {fmt(acc['cacr_longtail'], 100)} vs NT-Xent {fmt(acc['ntxent_longtail'], 100)} %"),
    ]


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """CACR vs NT-Xent, balanced and long-tailed pre-training, balanced probe (module docstring)."""
    base = base_recipe("cacr")
    settings = read_paper_yaml(Path(__file__).parent, "cacr")
    steps = settings["quick_max_steps"] if quick else None  # a quick run: a few steps of every arm
    arms = {arm: list(overrides) for arm, overrides in settings["arms"].items()}
    chosen = _seeds(quick, settings["seeds"] if seeds is None else seeds)
    acc: dict[str, list[float]] = {}
    lt_probe: dict[str, list[float]] = {}
    for seed in chosen:
        for arm, overrides in arms.items():
            recipe = variant(base, [f"seed={seed}", f"data.dataset={BALANCED}", *overrides], steps)
            acc.setdefault(f"{arm}_balanced", []).append(run(recipe, cache=not quick)["linear_probe_accuracy"])
            recipe = variant(base, [f"seed={seed}", f"data.dataset={LONGTAIL}", *overrides], steps)
            metrics = run(recipe, balanced_probe, cache=not quick)
            if "balanced_probe_accuracy" not in metrics:  # a run cached without this probe: measure it again
                metrics = run(recipe, balanced_probe, cache=False)
            acc.setdefault(f"{arm}_longtail", []).append(metrics["balanced_probe_accuracy"])
            lt_probe.setdefault(arm, []).append(metrics["linear_probe_accuracy"])
        torch.manual_seed(seed)
        acc.setdefault("random", []).append(random_encoder_probe(variant(base, [f"seed={seed}"], steps)))
    claims = claims_from(acc, settings, quick)
    old = paired_comparison(lt_probe["cacr"], lt_probe["ntxent"], alpha=settings["alpha"])
    claims.append(Claim.from_test("(old protocol) long-tailed pre-training, probe fitted on the long-tailed split: "
                                  "CACR > NT-Xent", old, scale=100, unit=" pt", gating=False))
    return ReproResult("cacr", claims, {"balanced_probe_accuracy": acc, "longtail_probe_accuracy": lt_probe,
                                        "seeds": list(chosen)}, quick)
