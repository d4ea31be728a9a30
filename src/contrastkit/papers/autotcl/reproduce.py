"""Reproduction of Parametric Augmentation for Time Series Contrastive Learning (Zheng et al., ICLR 2024): learned
augmentation ≥ best fixed on 3 of 4 UCR sets.

Settings: ``papers/autotcl/recipe.yaml``; measured figures: ``docs/timeseries.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from contrastkit.papers import _timeseries as ts
from contrastkit.papers._timeseries import _ENCODER_KEYS, _encoder, _get, _probe, _seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.timeseries.data import load_ucr


def autotcl_settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`autotcl`, read from its recipe (``quick`` applies the overrides)."""
    def get(path: str) -> Any:
        return _get(recipe, path, quick)

    return {
        "datasets": list(get("dataset.names")),
        "normalize": list(get("dataset.normalize")),
        "encoder": {k: get(f"encoder.{k}") for k in _ENCODER_KEYS},
        "fixed": list(get("training.fixed_augmentations")),
        "model": {k: get(f"training.{k}") for k in (
            "aug_dim", "aug_depth", "gumbel_bias", "gamma_zeta", "lr", "meta_lr", "ratio_step",
            "local_weight", "reg_weight", "time_weight", "local_k", "swa")},
        "batch_size": get("training.batch_size"),
        "iterations": get("training.iterations"),
        "trainer": dict(get("training.trainer")),
        "min_wins": get("claims.learned_vs_fixed.min_wins"),
        "wins_gating": bool(get("claims.learned_vs_fixed.gating")),
        "keep_window": get("claims.keep_ratio.window"),
        "keep_bounds": tuple(get("claims.keep_ratio.bounds")),
        "keep_gating": bool(get("claims.keep_ratio.gating")),
    }


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """AutoTCL miniature: learned augmentation vs the best of several fixed augmentations.

    Settings: ``recipes/autotcl.yaml`` (``seeds=None``: the recipe's seeds). Per set and seed: a
    TS2Vec encoder is trained with AutoTCL's encoder objective (global InfoNCE + ``local_weight`` x
    local InfoNCE) on views ``v = aug(x)``; ``aug`` is the learned augmentation network (alternating
    scheme) or a fixed augmentation. Linear probe on the SWA encoder's max-pooled embeddings, train
    split -> test split.
    Claim (gating): mean accuracy of the learned augmentation >= the best fixed augmentation's
    mean on >= ``min_wins`` of the sets. Reported (not gating): the learned keep ratio ``mean(h)``
    is in (0, 1).
    """
    from contrastkit.papers.autotcl.module import AutoTCL

    torch.set_num_threads(1)
    recipe = ts.load_recipe("autotcl")
    s = autotcl_settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    enc, hp = s["encoder"], s["model"]
    cfg = {"hidden_dims": enc["hidden_dims"], "repr_dims": enc["repr_dims"], "depth": enc["depth"],
           "batch_size": s["batch_size"], "iterations": s["iterations"], "lr": hp["lr"],
           "meta_lr": hp["meta_lr"]}
    datasets, fixed, window = s["datasets"], tuple(s["fixed"]), s["keep_window"]
    start = time.time()
    acc: dict[str, dict[str, list[float]]] = {d: {} for d in datasets}
    keep: list[float] = []
    for name in datasets:
        data = load_ucr(name, normalize=name in s["normalize"])
        for method in ("learned", *fixed):
            for seed in seeds:
                L.seed_everything(seed, verbose=False)
                model = AutoTCL(_encoder(data.num_channels, enc), augmentation=method, **hp)
                ds = TensorDataset(data.x_train)
                sampler = RandomSampler(ds, replacement=True,
                                        num_samples=s["iterations"] * s["batch_size"])
                loader = DataLoader(ds, batch_size=s["batch_size"], sampler=sampler)
                ts._trainer(s["trainer"], max_epochs=1).fit(model, loader)
                score = _probe(model.encode(data.x_train), data.y_train, model.encode(data.x_test),
                               data.y_test)
                acc[name].setdefault(method, []).append(score)
                if method == "learned" and model.keep_ratios:
                    keep.append(sum(model.keep_ratios[-window:]) / len(model.keep_ratios[-window:]))
    wins, details = 0, []
    for name in datasets:
        learned = mean_std(acc[name]["learned"])[0]
        best = max(fixed, key=lambda m: mean_std(acc[name][m])[0])
        ok = learned >= mean_std(acc[name][best])[0]
        wins += ok
        details.append(f"{name}: learned {fmt(acc[name]['learned'], 100, 1)} vs best fixed {best} "
                       f"{fmt(acc[name][best], 100, 1)} -> {'win' if ok else 'loss'}")
    result = ReproResult("autotcl", quick=quick)
    need = s["min_wins"]
    result.claims.append(Claim(
        f"learned augmentation >= best fixed augmentation (linear probe) on >= {need} of "
        f"{len(datasets)} sets",
        wins >= need, f"{wins}/{len(datasets)} sets; " + "; ".join(details), gating=s["wins_gating"]))
    low, high = s["keep_bounds"]
    keep_ok = bool(keep) and all(low < k < high for k in keep)
    result.claims.append(Claim(f"learned keep ratio mean(h) strictly in ({low:g}, {high:g})", keep_ok,
                               f"keep ratios {[round(k, 3) for k in keep]}", gating=s["keep_gating"]))
    result.metrics = {"accuracy": acc, "keep_ratio": keep, "config": cfg, "seeds": list(seeds),
                      "fixed": list(fixed), "seconds": time.time() - start}
    return result

