"""Reproduction of Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach (Lan et al.,
ICLR 2024): flags planted bad pairs; probe ≥ without.

Settings: ``papers/dbpm/recipe.yaml``; measured figures: ``docs/timeseries.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from contrastkit.papers import _timeseries as ts
from contrastkit.papers._timeseries import _ENCODER_KEYS, _encoder, _get, _probe, _seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.timeseries.augment import jitter, permutation, scaling
from contrastkit.timeseries.data import load_ucr


def dbpm_settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`dbpm`, read from its recipe (``quick`` applies the overrides)."""
    def get(path: str) -> Any:
        return _get(recipe, path, quick)

    return {
        "dataset": get("dataset.name"),
        "normalize": bool(get("dataset.normalize")),
        "planted": {k: get(f"dataset.planted.{k}") for k in (
            "fraction", "seed_offset", "noise_std", "faulty_segments", "faulty_jitter")},
        "encoder": {k: get(f"encoder.{k}") for k in _ENCODER_KEYS},
        "head_hidden": get("encoder.head_hidden"),
        "head_out": get("encoder.head_out"),
        "weak_scaling": get("training.weak_view.scaling"),
        "strong_segments": get("training.strong_view.segments"),
        "strong_jitter": get("training.strong_view.jitter"),
        **{k: get(f"training.{k}") for k in (
            "temperature", "lr", "batch_size", "epochs", "warmup", "beta_np", "beta_fp")},
        "trainer": dict(get("training.trainer")),
        "precision_factor": get("claims.flag_precision.factor"),
        "precision_gating": bool(get("claims.flag_precision.gating")),
        "accuracy_gating": bool(get("claims.probe_accuracy.gating")),
    }


def _planted_views(x_clean: Tensor, noisy: Tensor, faulty: Tensor, seed: int,
                   s: dict[str, Any]) -> tuple[Tensor, Any]:
    """Training inputs with planted noisy pairs and a strong-view function that corrupts the
    faulty pairs (see :func:`dbpm`; ``s`` is :func:`dbpm_settings`)."""
    p = s["planted"]
    g = torch.Generator().manual_seed(p["seed_offset"] + seed)
    x = x_clean.clone()
    x[noisy] = p["noise_std"] * torch.randn(x[noisy].shape, generator=g)
    is_faulty = torch.zeros(x.shape[0], dtype=torch.bool)
    is_faulty[faulty] = True

    def strong(xb: Tensor, index: Tensor) -> Tensor:
        view = jitter(permutation(xb, s["strong_segments"]), s["strong_jitter"])
        bad = is_faulty[index]
        if bad.any():
            view = torch.where(bad.view(-1, 1, 1),
                               jitter(permutation(xb, p["faulty_segments"]), p["faulty_jitter"]), view)
        return view

    return x, strong


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """DBPM miniature on OSULeaf (200 training series of 427 steps, 6 classes).

    Settings: ``recipes/dbpm.yaml`` (``seeds=None``: the recipe's seeds). Planted bad pairs (fixed
    per seed): noisy positive pairs (the series is replaced by white noise of std 0.1, so both
    views share only noise) and faulty positive pairs (their strong view is a 32-segment shuffle
    plus jitter of std 2, destroying the shape), 10 % each. SimCLR (weak view: scaling 1.1; strong:
    permutation <= 5 segments + jitter 0.3 -- DBPM's ECG setting, <= 8 segments + jitter 0.8, left
    the clean pairs at chance-level loss on the z-normalised OSULeaf series, so nothing separated
    faulty from clean pairs; tau = 0.2) with and without DBPM (beta_np = 2, beta_fp = 3, warm-up at
    half the epochs). Linear probe: clean training series -> test split.
    Claims (gating): mean precision of the flagged noisy and of the flagged faulty pairs >=
    ``factor`` x the planted rate (0.30); mean probe accuracy with DBPM >= without.
    """
    from contrastkit.methods.ts_contrastive import TSSimCLR
    from contrastkit.mining.dbpm import DBPM, flag_precision_recall

    torch.set_num_threads(1)
    recipe = ts.load_recipe("dbpm")
    s = dbpm_settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    enc, planted = s["encoder"], s["planted"]["fraction"]
    cfg = {"hidden_dims": enc["hidden_dims"], "repr_dims": enc["repr_dims"], "depth": enc["depth"],
           "batch_size": s["batch_size"], "epochs": s["epochs"], "lr": s["lr"],
           "temperature": s["temperature"], "planted": planted, "beta_np": s["beta_np"],
           "beta_fp": s["beta_fp"]}
    weak_sigma = s["weak_scaling"]

    def weak(xb: Tensor, index: Tensor) -> Tensor:
        return scaling(xb, weak_sigma)

    data = load_ucr(s["dataset"], normalize=s["normalize"])
    n = data.x_train.shape[0]
    start = time.time()
    acc: dict[str, list[float]] = {"simclr": [], "simclr+dbpm": []}
    prec: dict[str, list[float]] = {"noisy": [], "faulty": []}
    rec: dict[str, list[float]] = {"noisy": [], "faulty": []}
    n_bad = int(planted * n)
    for seed in seeds:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        noisy, faulty = perm[:n_bad], perm[n_bad:2 * n_bad]
        x_train, strong = _planted_views(data.x_train, noisy, faulty, seed, s)
        for variant in acc:
            L.seed_everything(seed, verbose=False)
            miner = (DBPM(n, s["epochs"], s["warmup"], beta_np=s["beta_np"], beta_fp=s["beta_fp"])
                     if variant == "simclr+dbpm" else None)
            model = TSSimCLR(_encoder(data.num_channels, enc), head_hidden=s["head_hidden"],
                             head_out=s["head_out"], lr=s["lr"], temperature=s["temperature"],
                             miner=miner, weak_view=weak, strong_view=strong)
            loader = DataLoader(TensorDataset(x_train, torch.arange(n)), batch_size=s["batch_size"],
                                shuffle=True)
            ts._trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
            acc[variant].append(_probe(model.encoder.encode(data.x_train), data.y_train,
                                       model.encoder.encode(data.x_test), data.y_test))
            if miner is not None:
                flags = miner.flagged()
                for kind, planted_idx in (("noisy", noisy), ("faulty", faulty)):
                    p, r = flag_precision_recall(flags[kind], planted_idx)
                    prec[kind].append(p)
                    rec[kind].append(r)
    result = ReproResult("dbpm", quick=quick)
    factor = s["precision_factor"]
    threshold = factor * planted
    for kind in ("noisy", "faulty"):
        values = prec[kind]
        finite = [v for v in values if v == v]
        ok = len(finite) == len(values) and mean_std(finite)[0] >= threshold
        shown = fmt(finite, 100, 1) if finite else "nothing flagged"
        result.claims.append(Claim(
            f"{kind} positive pairs: flag precision >= {threshold:.0%} ({factor:g}x the planted rate)", ok,
            f"precision {shown} % over {len(values)} seed(s) ({len(finite)} with flags); "
            f"recall {fmt([v for v in rec[kind] if v == v] or [0.0], 100, 1)} %",
            gating=s["precision_gating"]))
    with_dbpm, without = mean_std(acc["simclr+dbpm"])[0], mean_std(acc["simclr"])[0]
    result.claims.append(Claim(
        "probe accuracy with DBPM >= without", with_dbpm >= without,
        f"SimCLR+DBPM {fmt(acc['simclr+dbpm'], 100, 1)} vs SimCLR {fmt(acc['simclr'], 100, 1)}",
        gating=s["accuracy_gating"]))
    result.metrics = {"accuracy": acc, "precision": prec, "recall": rec, "config": cfg,
                      "seeds": list(seeds), "seconds": time.time() - start}
    return result

