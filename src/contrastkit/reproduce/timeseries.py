"""Time-series reproductions on the UCR/UEA sets bundled with aeon: AutoTCL, COMET, DBPM.

Each function trains small CPU miniatures over seeds, evaluates frozen representations with
:func:`contrastkit.evaluate.linear_probe`, and checks the paper's claim with thresholds fixed in
advance (see ``recipes/{autotcl,comet,dbpm}.yaml`` and ``docs/timeseries.md``):

- :func:`autotcl` (Zheng et al., ICLR 2024): learned augmentation >= the best fixed augmentation in
  linear-probe accuracy on at least 3 of 4 sets (GunPoint, ArrowHead, ItalyPowerDemand, BasicMotions);
- :func:`comet` (Wang et al., NeurIPS 2023): all four levels >= every single level in a
  subject-independent probe on a patient / trial / sample hierarchy built from BasicMotions;
- :func:`dbpm` (Lan et al., ICLR 2024): with 10 % planted noisy and 10 % planted faulty positive
  pairs on OSULeaf, flagged pairs have precision >= 3x the planted rate, and probe accuracy with
  DBPM >= without.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.timeseries.augment import jitter, permutation
from contrastkit.timeseries.data import load_ucr
from contrastkit.timeseries.encoder import TSEncoder

AUTOTCL_DATASETS = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "BasicMotions")
AUTOTCL_FIXED = ("jitter_scaling", "masking", "time_warp")
COMET_VARIANTS: dict[str, dict[str, float]] = {
    "all": {"patient": 0.25, "trial": 0.25, "sample": 0.25, "observation": 0.25},
    "patient": {"patient": 1.0},
    "trial": {"trial": 1.0},
    "sample": {"sample": 1.0},
    "observation": {"observation": 1.0},
}


def _trainer(**kwargs: Any) -> L.Trainer:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*small batch size.*")
    return L.Trainer(accelerator="cpu", devices=1, enable_checkpointing=False, logger=False,
                     enable_progress_bar=False, enable_model_summary=False, **kwargs)


def _probe(train_emb: Tensor, train_y: Tensor, test_emb: Tensor, test_y: Tensor) -> float:
    from contrastkit.evaluate import linear_probe

    return float(linear_probe(train_emb, train_y, test_emb, test_y))


def _encoder(channels: int, cfg: dict[str, Any], mask_mode: str) -> TSEncoder:
    return TSEncoder(channels, output_dims=cfg["repr_dims"], hidden_dims=cfg["hidden_dims"],
                     depth=cfg["depth"], mask_mode=mask_mode)


# ---------------------------------------------------------------------------------------- AutoTCL
def autotcl(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """AutoTCL miniature: learned augmentation vs the best of several fixed augmentations.

    Per set and seed: a TS2Vec encoder (hidden 32, repr 64, depth 3) is trained with AutoTCL's
    encoder objective (global InfoNCE + 0.3 local InfoNCE) on views ``v = aug(x)``; ``aug`` is the
    learned augmentation network (alternating scheme) or a fixed augmentation. Linear probe on the
    SWA encoder's max-pooled embeddings, train split -> test split.
    Claim (gating): mean accuracy of the learned augmentation >= the best fixed augmentation's
    mean on >= 3 of the 4 sets. Reported (not gating): the learned keep ratio ``mean(h)`` is in (0, 1).
    """
    from contrastkit.methods.autotcl import AutoTCL

    torch.set_num_threads(1)
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    cfg = {"hidden_dims": 32, "repr_dims": 64, "depth": 3, "batch_size": 16,
           "iterations": 30 if quick else 150, "lr": 1e-3, "meta_lr": 0.01}
    datasets = AUTOTCL_DATASETS
    fixed = ("jitter_scaling",) if quick else AUTOTCL_FIXED
    start = time.time()
    acc: dict[str, dict[str, list[float]]] = {d: {} for d in datasets}
    keep: list[float] = []
    for name in datasets:
        data = load_ucr(name, normalize=name == "BasicMotions")
        for method in ("learned", *fixed):
            for seed in seeds:
                L.seed_everything(seed, verbose=False)
                model = AutoTCL(_encoder(data.num_channels, cfg, "all_true"), augmentation=method,
                                lr=cfg["lr"], meta_lr=cfg["meta_lr"])
                ds = TensorDataset(data.x_train)
                sampler = RandomSampler(ds, replacement=True,
                                        num_samples=cfg["iterations"] * cfg["batch_size"])
                loader = DataLoader(ds, batch_size=cfg["batch_size"], sampler=sampler)
                _trainer(max_epochs=1).fit(model, loader)
                score = _probe(model.encode(data.x_train), data.y_train, model.encode(data.x_test),
                               data.y_test)
                acc[name].setdefault(method, []).append(score)
                if method == "learned" and model.keep_ratios:
                    keep.append(sum(model.keep_ratios[-20:]) / len(model.keep_ratios[-20:]))
    wins, details = 0, []
    for name in datasets:
        learned = mean_std(acc[name]["learned"])[0]
        best = max(fixed, key=lambda m: mean_std(acc[name][m])[0])
        ok = learned >= mean_std(acc[name][best])[0]
        wins += ok
        details.append(f"{name}: learned {fmt(acc[name]['learned'], 100, 1)} vs best fixed {best} "
                       f"{fmt(acc[name][best], 100, 1)} -> {'win' if ok else 'loss'}")
    result = ReproResult("autotcl", quick=quick)
    need = 3
    result.claims.append(Claim(
        "learned augmentation >= best fixed augmentation (linear probe) on >= 3 of 4 sets",
        wins >= need, f"{wins}/4 sets; " + "; ".join(details)))
    keep_ok = bool(keep) and all(0 < k < 1 for k in keep)
    result.claims.append(Claim("learned keep ratio mean(h) strictly in (0, 1)", keep_ok,
                               f"keep ratios {[round(k, 3) for k in keep]}", gating=False))
    result.metrics = {"accuracy": acc, "keep_ratio": keep, "config": cfg, "seeds": list(seeds),
                      "fixed": list(fixed), "seconds": time.time() - start}
    return result


# ---------------------------------------------------------------------------------------- COMET
def comet(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """COMET miniature on a hierarchy built from BasicMotions (see
    :func:`contrastkit.timeseries.comet.build_hierarchy`): 40 pseudo-patients x 2 trials x 4
    windows of 40 steps (320 samples, 6 channels), split 70/30 by patient (stratified).

    Variants: all four levels (0.25 each) and each single level alone. Encoder hidden 32, repr 64,
    depth 3, batches of 64 that keep patients together. Subject-independent probe: logistic
    regression on sample embeddings of the training patients, accuracy on the test patients.
    Claim (gating): mean accuracy of ``all`` >= the mean of every single level.
    """
    from contrastkit.methods.comet import COMET, GroupBatchSampler
    from contrastkit.timeseries.comet import build_hierarchy, patient_split

    torch.set_num_threads(1)
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    cfg = {"hidden_dims": 32, "repr_dims": 64, "depth": 3, "batch_size": 64,
           "epochs": 3 if quick else 20, "lr": 1e-3, "window": 40, "stride": 20,
           "trials_per_patient": 2, "subject_effect": 0.2}
    data = load_ucr("BasicMotions", normalize=True)
    x_all = torch.cat([data.x_train, data.x_test])
    y_all = torch.cat([data.y_train, data.y_test])
    start = time.time()
    acc: dict[str, list[float]] = {v: [] for v in COMET_VARIANTS}
    for seed in seeds:
        h = build_hierarchy(x_all, y_all, trials_per_patient=cfg["trials_per_patient"],
                            window=cfg["window"], stride=cfg["stride"],
                            subject_effect=cfg["subject_effect"], seed=seed)
        train_p, test_p = patient_split(h, 0.3, seed=seed)
        tr, te = h.subset(train_p), h.subset(test_p)
        for variant, weights in COMET_VARIANTS.items():
            L.seed_everything(seed, verbose=False)
            model = COMET(_encoder(h.x.shape[1], cfg, "continuous"), weights=weights, lr=cfg["lr"])
            ds = TensorDataset(tr.x, tr.trial, tr.patient)
            loader = DataLoader(ds, batch_sampler=GroupBatchSampler(tr.patient, cfg["batch_size"], seed))
            _trainer(max_epochs=cfg["epochs"]).fit(model, loader)
            score = _probe(model.encoder.encode(tr.x), tr.label, model.encoder.encode(te.x), te.label)
            acc[variant].append(score)
    singles = [v for v in COMET_VARIANTS if v != "all"]
    full = mean_std(acc["all"])[0]
    best = max(singles, key=lambda v: mean_std(acc[v])[0])
    result = ReproResult("comet", quick=quick)
    result.claims.append(Claim(
        "all levels >= any single level (subject-independent linear probe accuracy)",
        full >= mean_std(acc[best])[0],
        "; ".join(f"{v}: {fmt(acc[v], 100, 1)}" for v in COMET_VARIANTS) + f" (best single: {best})"))
    result.metrics = {"accuracy": acc, "config": cfg, "seeds": list(seeds),
                      "seconds": time.time() - start}
    return result


# ---------------------------------------------------------------------------------------- DBPM
def _planted_views(x_clean: Tensor, noisy: Tensor, faulty: Tensor, seed: int) -> tuple[Tensor, Any]:
    """Training inputs with planted noisy pairs and a strong-view function that corrupts the
    faulty pairs (see :func:`dbpm`)."""
    g = torch.Generator().manual_seed(10_000 + seed)
    x = x_clean.clone()
    x[noisy] = 0.1 * torch.randn(x[noisy].shape, generator=g)
    is_faulty = torch.zeros(x.shape[0], dtype=torch.bool)
    is_faulty[faulty] = True

    def strong(xb: Tensor, index: Tensor) -> Tensor:
        view = jitter(permutation(xb, 5), 0.3)
        bad = is_faulty[index]
        if bad.any():
            view = torch.where(bad.view(-1, 1, 1), jitter(permutation(xb, 32), 2.0), view)
        return view

    return x, strong


def dbpm(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """DBPM miniature on OSULeaf (200 training series of 427 steps, 6 classes).

    Planted bad pairs (fixed per seed): 10 % noisy positive pairs (the series is replaced by white
    noise of std 0.1, so both views share only noise) and 10 % faulty positive pairs (their strong
    view is a 32-segment shuffle plus jitter of std 2, destroying the shape). SimCLR (weak view:
    scaling 1.1; strong: permutation <= 5 segments + jitter 0.3 -- DBPM's ECG setting, <= 8
    segments + jitter 0.8, left the clean pairs at chance-level loss on the z-normalised OSULeaf
    series, so nothing separated faulty from clean pairs; tau = 0.2) with and without DBPM
    (beta_np = 2, beta_fp = 3, warm-up at half the epochs). Linear probe: clean training series ->
    test split.
    Claims (gating): mean precision of the flagged noisy and of the flagged faulty pairs >= 3x
    the planted rate (0.30); mean probe accuracy with DBPM >= without.
    """
    from contrastkit.methods.ts_contrastive import TSSimCLR, dbpm_weak_view
    from contrastkit.mining.dbpm import DBPM, flag_precision_recall

    torch.set_num_threads(1)
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    cfg = {"hidden_dims": 32, "repr_dims": 64, "depth": 2, "batch_size": 64,
           "epochs": 8 if quick else 30, "lr": 3e-3, "temperature": 0.2, "planted": 0.1,
           "beta_np": 2.0, "beta_fp": 3.0}
    warmup = cfg["epochs"] // 2
    data = load_ucr("OSULeaf")
    n = data.x_train.shape[0]
    start = time.time()
    acc: dict[str, list[float]] = {"simclr": [], "simclr+dbpm": []}
    prec: dict[str, list[float]] = {"noisy": [], "faulty": []}
    rec: dict[str, list[float]] = {"noisy": [], "faulty": []}
    n_bad = int(cfg["planted"] * n)
    for seed in seeds:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        noisy, faulty = perm[:n_bad], perm[n_bad:2 * n_bad]
        x_train, strong = _planted_views(data.x_train, noisy, faulty, seed)
        for variant in acc:
            L.seed_everything(seed, verbose=False)
            miner = (DBPM(n, cfg["epochs"], warmup, beta_np=cfg["beta_np"], beta_fp=cfg["beta_fp"])
                     if variant == "simclr+dbpm" else None)
            model = TSSimCLR(_encoder(data.num_channels, cfg, "all_true"), lr=cfg["lr"],
                             temperature=cfg["temperature"], miner=miner,
                             weak_view=dbpm_weak_view, strong_view=strong)
            loader = DataLoader(TensorDataset(x_train, torch.arange(n)), batch_size=cfg["batch_size"],
                                shuffle=True)
            _trainer(max_epochs=cfg["epochs"]).fit(model, loader)
            acc[variant].append(_probe(model.encoder.encode(data.x_train), data.y_train,
                                       model.encoder.encode(data.x_test), data.y_test))
            if miner is not None:
                flags = miner.flagged()
                for kind, planted in (("noisy", noisy), ("faulty", faulty)):
                    p, r = flag_precision_recall(flags[kind], planted)
                    prec[kind].append(p)
                    rec[kind].append(r)
    result = ReproResult("dbpm", quick=quick)
    threshold = 3 * cfg["planted"]
    for kind in ("noisy", "faulty"):
        values = prec[kind]
        finite = [v for v in values if v == v]
        ok = len(finite) == len(values) and mean_std(finite)[0] >= threshold
        shown = fmt(finite, 100, 1) if finite else "nothing flagged"
        result.claims.append(Claim(
            f"{kind} positive pairs: flag precision >= {threshold:.0%} (3x the planted rate)", ok,
            f"precision {shown} % over {len(values)} seed(s) ({len(finite)} with flags); "
            f"recall {fmt([v for v in rec[kind] if v == v] or [0.0], 100, 1)} %"))
    with_dbpm, without = mean_std(acc["simclr+dbpm"])[0], mean_std(acc["simclr"])[0]
    result.claims.append(Claim(
        "probe accuracy with DBPM >= without", with_dbpm >= without,
        f"SimCLR+DBPM {fmt(acc['simclr+dbpm'], 100, 1)} vs SimCLR {fmt(acc['simclr'], 100, 1)}"))
    result.metrics = {"accuracy": acc, "precision": prec, "recall": rec, "config": cfg,
                      "seeds": list(seeds), "seconds": time.time() - start}
    return result


__all__ = ["autotcl", "comet", "dbpm"]
