"""Reproduction of Contrast Everything: A Hierarchical Contrastive Framework for Medical Time-Series (Wang et al.,
NeurIPS 2023): all four levels ≥ every single level.

Settings: ``papers/comet/recipe.yaml``; measured figures: ``docs/timeseries.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from contrastkit.papers import _timeseries as ts
from contrastkit.papers._timeseries import _ENCODER_KEYS, _encoder, _get, _probe, _seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.timeseries.data import load_ucr


def comet_settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`comet`, read from its recipe (``quick`` applies the overrides)."""
    def get(path: str) -> Any:
        return _get(recipe, path, quick)

    return {
        "dataset": get("dataset.name"),
        "normalize": bool(get("dataset.normalize")),
        "hierarchy": {k: get(f"dataset.hierarchy.{k}") for k in (
            "trials_per_patient", "window", "stride", "subject_effect")},
        "test_fraction": get("dataset.test_fraction"),
        "encoder": {k: get(f"encoder.{k}") for k in _ENCODER_KEYS},
        "variants": {v: dict(w) for v, w in get("training.variants").items()},
        "pairs": get("training.pairs"),
        "lr": get("training.lr"),
        "batch_size": get("training.batch_size"),
        "epochs": get("training.epochs"),
        "trainer": dict(get("training.trainer")),
        "combined": get("claims.all_vs_single.combined"),
        "gating": bool(get("claims.all_vs_single.gating")),
    }


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """COMET miniature on a hierarchy built from BasicMotions (see
    :func:`contrastkit.timeseries.comet.build_hierarchy`): pseudo-patients x trials x windows,
    split by patient (stratified). Settings: ``recipes/comet.yaml`` (``seeds=None``: the recipe's).

    Variants: all four levels (0.25 each) and each single level alone, on a TS2Vec encoder with
    batches that keep patients together. Subject-independent probe: logistic regression on sample
    embeddings of the training patients, accuracy on the test patients.
    Claim (gating): mean accuracy of ``all`` >= the mean of every single level.
    """
    from contrastkit.papers.comet.module import COMET, GroupBatchSampler
    from contrastkit.timeseries.comet import build_hierarchy, patient_split

    torch.set_num_threads(1)
    recipe = ts.load_recipe("comet")
    s = comet_settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    enc, variants, combined = s["encoder"], s["variants"], s["combined"]
    cfg = {"hidden_dims": enc["hidden_dims"], "repr_dims": enc["repr_dims"], "depth": enc["depth"],
           "batch_size": s["batch_size"], "epochs": s["epochs"], "lr": s["lr"],
           "window": s["hierarchy"]["window"], "stride": s["hierarchy"]["stride"],
           "trials_per_patient": s["hierarchy"]["trials_per_patient"],
           "subject_effect": s["hierarchy"]["subject_effect"]}
    data = load_ucr(s["dataset"], normalize=s["normalize"])
    x_all = torch.cat([data.x_train, data.x_test])
    y_all = torch.cat([data.y_train, data.y_test])
    start = time.time()
    acc: dict[str, list[float]] = {v: [] for v in variants}
    for seed in seeds:
        h = build_hierarchy(x_all, y_all, **s["hierarchy"], seed=seed)
        train_p, test_p = patient_split(h, s["test_fraction"], seed=seed)
        tr, te = h.subset(train_p), h.subset(test_p)
        for variant, weights in variants.items():
            L.seed_everything(seed, verbose=False)
            model = COMET(_encoder(h.x.shape[1], enc), weights=weights, pairs=s["pairs"], lr=s["lr"])
            ds = TensorDataset(tr.x, tr.trial, tr.patient)
            loader = DataLoader(ds, batch_sampler=GroupBatchSampler(tr.patient, s["batch_size"], seed))
            ts._trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
            score = _probe(model.encoder.encode(tr.x), tr.label, model.encoder.encode(te.x), te.label)
            acc[variant].append(score)
    singles = [v for v in variants if v != combined]
    full = mean_std(acc[combined])[0]
    best = max(singles, key=lambda v: mean_std(acc[v])[0])
    result = ReproResult("comet", quick=quick)
    result.claims.append(Claim(
        f"{combined} levels >= any single level (subject-independent linear probe accuracy)",
        full >= mean_std(acc[best])[0],
        "; ".join(f"{v}: {fmt(acc[v], 100, 1)}" for v in variants) + f" (best single: {best})",
        gating=s["gating"]))
    result.metrics = {"accuracy": acc, "config": cfg, "seeds": list(seeds),
                      "seconds": time.time() - start}
    return result

