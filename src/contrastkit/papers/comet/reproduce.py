"""Reproduction of COMET (Wang et al., NeurIPS 2023): contrast at all four levels (patient, trial, sample,
observation) gives better patient-independent representations than any single level.

Settings: ``papers/comet/recipe.yaml``.

Protocol. COMET's evaluation is patient-independent: the probe is fitted on some patients and tested on
others, and a patient's windows share its label, so the independent unit of the test is the *patient*,
not the window. No bundled dataset carries real patient ids next to a per-patient label (BasicMotions
was recorded by four students, but the ids are not shipped; in JapaneseVowels and PigCVP the subject *is*
the label), so the hierarchy is built from BasicMotions: pseudo-patient = consecutive recordings of one
class with a per-patient channel gain (:func:`contrastkit.timeseries.comet.build_hierarchy`). Every
patient is tested once per seed by leave-patients-out ``folds``-fold cross-validation (stratified by
class), instead of one 70/30 split (12 test patients).

Preconditions (gating, checked *before* training, since they depend only on the design):

* the test set resolves the claimed effect: the two-proportion MDE of ``n`` independent test units
  (:func:`contrastkit.reproduce.stats.proportion_mde`, at the recipe's planning accuracy) is at most the
  claim's ``margin``, with the patient as the unit. The window-as-unit MDE is reported next to it (it
  treats the windows of one patient as independent, which they are not).

When a precondition fails the full run stops there: the outcome is ``not testable`` and nothing is
trained. (``quick=True`` still trains one fold for a few epochs as a smoke test.)
Claim (gating, paired over seeds): probe accuracy of ``all`` exceeds each single level by ``margin``.
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
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison, proportion_mde
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


def settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`reproduce`, from the recipe (``quick`` applies its overrides)."""
    def get(key: str) -> Any:
        return _get(recipe, f"claims.all_vs_single.{key}")

    out = comet_settings(recipe, quick) | {
        "folds": int(_get(recipe, "dataset.folds")), "margin": float(get("margin")),
        "alpha": float(get("alpha")), "planning_accuracy": float(get("planning_accuracy"))}
    if quick:
        out["folds_run"] = 1
    return out


def patient_folds(patient: torch.Tensor, label: torch.Tensor, folds: int, seed: int) -> list[torch.Tensor]:
    """Patient ids of ``folds`` disjoint test folds covering every patient, stratified by class.

    Args:
        patient, label: ``(n,)`` per-sample patient id and (per-patient constant) label.
    """
    if folds < 2:
        raise ValueError(f"folds: expected at least 2 folds, got {folds}")
    g = torch.Generator().manual_seed(seed)
    out: list[list[torch.Tensor]] = [[] for _ in range(folds)]
    offset = 0
    for cls in torch.unique(label):
        pats = torch.unique(patient[label == cls])
        pats = pats[torch.randperm(len(pats), generator=g)]
        for j, p in enumerate(pats):
            out[(offset + j) % folds].append(p.view(1))
        offset += len(pats)
    return [torch.cat(f).sort().values for f in out if f]


def power_preconditions(n_patients: int, n_windows: int, s: dict[str, Any]) -> list[Claim]:
    """Design-only checks: can ``n_patients`` test patients resolve the claim's margin?"""
    p, margin = s["planning_accuracy"], s["margin"]
    by_patient = proportion_mde(n_patients, p, alpha=s["alpha"])
    by_window = proportion_mde(n_windows, p, alpha=s["alpha"])
    return [Claim(
        f"the test patients resolve a {100 * margin:g}-point accuracy difference (patient = unit)",
        by_patient <= margin,
        f"{n_patients} test patients at planning accuracy {100 * p:.1f} %: MDE {100 * by_patient:.1f} points "
        f"(two-proportion, alpha {s['alpha']:g}, power 0.8); with the {n_windows} windows as units (not "
        f"independent): {100 * by_window:.1f} points; margin {100 * margin:g}", precondition=True)]


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """COMET miniature (module docstring): leave-patients-out probe, power checked before training."""
    from contrastkit.methods.comet import COMET, GroupBatchSampler
    from contrastkit.timeseries.comet import build_hierarchy

    torch.set_num_threads(1)
    recipe = ts.load_recipe("comet")
    s = settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    data = load_ucr(s["dataset"], normalize=s["normalize"])
    x_all, y_all = torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test])
    h0 = build_hierarchy(x_all, y_all, **s["hierarchy"], seed=seeds[0])
    result = ReproResult("comet", quick=quick)
    result.claims = power_preconditions(len(torch.unique(h0.patient)), len(h0.patient), s)
    result.metrics = {"patients": len(torch.unique(h0.patient)), "windows": len(h0.patient),
                      "seeds": list(seeds), "folds": s["folds"]}
    if not quick and not all(c.passed for c in result.claims):
        return result  # not testable: the design cannot resolve the claim, so nothing is trained
    if quick:
        for c in result.claims:
            c.gating = False
    variants, combined = s["variants"], s["combined"]
    start = time.time()
    acc: dict[str, list[float]] = {v: [] for v in variants}
    for seed in seeds:
        h = build_hierarchy(x_all, y_all, **s["hierarchy"], seed=seed)
        folds = patient_folds(h.patient, h.label, s["folds"], seed)[: s.get("folds_run", s["folds"])]
        for variant, weights in variants.items():
            correct = total = 0
            for test_p in folds:
                train_p = torch.unique(h.patient)[~torch.isin(torch.unique(h.patient), test_p)]
                tr, te = h.subset(train_p), h.subset(test_p)
                L.seed_everything(seed, verbose=False)
                model = COMET(_encoder(h.x.shape[1], s["encoder"]), weights=weights, pairs=s["pairs"], lr=s["lr"])
                loader = DataLoader(TensorDataset(tr.x, tr.trial, tr.patient),
                                    batch_sampler=GroupBatchSampler(tr.patient, s["batch_size"], seed))
                ts._trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
                score = _probe(model.encoder.encode(tr.x), tr.label, model.encoder.encode(te.x), te.label)
                correct += score * len(te.label)
                total += len(te.label)
            acc[variant].append(correct / total)
    for v in variants:
        if v == combined:
            continue
        test = paired_comparison(acc[combined], acc[v], margin=s["margin"], alpha=s["alpha"])
        result.claims.append(Claim.from_test(
            f"{combined} levels > {v} level alone by {100 * s['margin']:g} points", test, scale=100, unit=" pt",
            gating=not quick, note=f"{fmt(acc[combined], 100, 1)} vs {fmt(acc[v], 100, 1)} %"))
    result.metrics |= {"accuracy": acc, "seconds": time.time() - start}
    return result
