"""Reproduction of DBPM (Lan, Yan, Hong, Feng, ICLR 2024): flags planted bad positive pairs on OSULeaf.

Settings: ``papers/dbpm/recipe.yaml`` (the single source of every number below).

Protocol. Per seed, ``rate`` of the 200 OSULeaf training pairs are planted *noisy* (the series is
replaced by white noise, so both views share only noise) and another ``rate`` *faulty* (the strong
view is a destructive many-segment shuffle + heavy jitter). SimCLR is trained with and without DBPM.

Preconditions (a failed one makes the outcome ``not testable``):

1. *The planted rate is detectable by DBPM's rule.* When a fraction ``f`` of pairs sits at one value
   and the rest at another, the planted pairs' z-score is ``sqrt((1 - f) / f)`` -- the largest z-score
   a cluster of that size can have (any spread of the clean pairs or a second planted cluster only
   lowers it). DBPM flags ``m_i >= mu + beta_fp s`` (faulty) and ``m_i <= mu - beta_np s`` (noisy), so
   the rule can flag a planted type only if ``sqrt((1 - f) / f) > beta``. At ``f = 0.1`` the ceiling is
   exactly 3.0 = ``beta_fp``: faulty pairs can never be flagged.
2. *The planted corruption leaves a loss signal.* AUROC of the historical statistic ``m_i`` at the end
   of the warm-up (plain SimCLR so far) separates planted from clean pairs (faulty: higher, noisy: lower)
   by at least ``auroc_min``, averaged over seeds.

Claims (gating): for each planted type, the flags of the last epoch pooled over seeds have precision
>= ``factor`` x the planted rate and significantly above the planted rate (one-sided exact binomial
test). Reported (not gating, underpowered at this number of seeds): probe accuracy with DBPM vs
without, paired over seeds, with its CI and minimum detectable effect.
"""

from __future__ import annotations

import math
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
from contrastkit.reproduce.stats import paired_comparison
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


def z_ceiling(rate: float) -> float:
    """Largest z-score a cluster holding a fraction ``rate`` of the values can reach: ``sqrt((1-f)/f)``.

    For ``n`` values with ``f n`` at ``a`` and the rest at ``b``, mean and population std give
    ``z = (1 - f)|a - b| / (|a - b| sqrt(f (1 - f))) = sqrt((1 - f) / f)``; spreading the other values
    only increases the std, so no cluster of that size exceeds it.
    """
    if not 0 < rate < 1:
        raise ValueError(f"rate: expected a planted fraction in (0, 1), got {rate!r}")
    return math.sqrt((1 - rate) / rate)


def auroc(scores: Tensor, positive: Tensor) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positive`` labels (Mann-Whitney form)."""
    from scipy.stats import rankdata

    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        raise ValueError("positive: expected both planted and clean pairs")
    ranks = torch.as_tensor(rankdata(scores.numpy()), dtype=torch.float64)
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


def binomial_p(hits: int, flagged: int, rate: float) -> float:
    """One-sided exact binomial p-value of ``precision > rate`` (``1.0`` when nothing is flagged)."""
    from scipy.stats import binomtest

    return 1.0 if flagged == 0 else float(binomtest(hits, flagged, rate, alternative="greater").pvalue)


def detection_claims(s: dict[str, Any], seeds_run: int, signal: dict[str, list[float]],
                     hits: dict[str, int], flagged: dict[str, int], planted_n: int) -> list[Claim]:
    """Preconditions and detection claims from the measured counts (see the module docstring)."""
    rate, factor, alpha = s["planted"]["fraction"], s["precision_factor"], s["alpha"]
    claims = []
    for kind, beta in (("noisy", s["beta_np"]), ("faulty", s["beta_fp"])):
        ceiling = z_ceiling(rate)
        claims.append(Claim(
            f"{kind} pairs: planted rate {rate:.0%} is detectable by the {beta:g} sigma rule", ceiling > beta,
            f"largest z-score of a {rate:.0%} cluster sqrt((1-f)/f) = {ceiling:.2f} vs cut {beta:g}",
            precondition=True))
    for kind in ("noisy", "faulty"):
        values = signal[kind]
        shown = ", ".join(f"{v:.3f}" for v in values) if values else "not measured"
        ok = bool(values) and mean_std(values)[0] >= s["auroc_min"]
        claims.append(Claim(
            f"{kind} pairs leave a loss signal: AUROC of m_i at the end of warm-up >= {s['auroc_min']:g}", ok,
            f"AUROC per seed {shown}", precondition=True))
    for kind in ("noisy", "faulty"):
        n_flag, n_hit = flagged[kind], hits[kind]
        precision = n_hit / n_flag if n_flag else float("nan")
        p = binomial_p(n_hit, n_flag, rate)
        ok = n_flag > 0 and precision >= factor * rate and p < alpha
        claims.append(Claim(
            f"{kind} pairs: flag precision >= {factor:g} x planted rate ({factor * rate:.0%}) and > planted rate "
            f"(binomial, alpha {alpha:g})", ok,
            f"{n_hit} of {n_flag} flagged pairs planted over {seeds_run} seed(s) "
            f"(precision {'-' if not n_flag else f'{100 * precision:.1f} %'}, one-sided p = {p:.3g}); recall "
            f"{n_hit} of {planted_n * seeds_run}"))
    return claims


def settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`reproduce`, from the recipe (``quick`` applies its overrides)."""
    return dbpm_settings(recipe, quick) | {"alpha": float(_get(recipe, "claims.alpha")),
                                           "auroc_min": float(_get(recipe, "claims.signal.auroc_min"))}


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """DBPM miniature (see the module docstring); ``quick`` runs the recipe's smoke settings, no verdict."""
    from contrastkit.methods.ts_contrastive import TSSimCLR
    from contrastkit.papers.dbpm.module import DBPMSimCLR

    torch.set_num_threads(1)
    recipe = ts.load_recipe("dbpm")
    s = settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    enc, rate = s["encoder"], s["planted"]["fraction"]
    data = load_ucr(s["dataset"], normalize=s["normalize"])
    n = data.x_train.shape[0]
    n_bad = max(1, round(rate * n))
    start = time.time()
    acc: dict[str, list[float]] = {"simclr": [], "simclr+dbpm": []}
    signal: dict[str, list[float]] = {"noisy": [], "faulty": []}
    final_auroc: dict[str, list[float]] = {"noisy": [], "faulty": []}
    planted_z: dict[str, list[float]] = {"noisy": [], "faulty": []}
    hits, flagged = {"noisy": 0, "faulty": 0}, {"noisy": 0, "faulty": 0}

    def weak(xb: Tensor, index: Tensor) -> Tensor:
        return scaling(xb, s["weak_scaling"])

    for seed in seeds:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        planted = {"noisy": perm[:n_bad], "faulty": perm[n_bad:2 * n_bad]}
        x_train, strong = _planted_views(data.x_train, planted["noisy"], planted["faulty"], seed, s)
        for variant in acc:
            L.seed_everything(seed, verbose=False)
            common = {"head_hidden": s["head_hidden"], "head_out": s["head_out"], "lr": s["lr"],
                      "temperature": s["temperature"], "weak_view": weak, "strong_view": strong}
            if variant == "simclr+dbpm":
                model: TSSimCLR = DBPMSimCLR(_encoder(data.num_channels, enc), num_pairs=n, max_epochs=s["epochs"],
                                             warmup=s["warmup"], beta_np=s["beta_np"], beta_fp=s["beta_fp"],
                                             **common)
            else:
                model = TSSimCLR(_encoder(data.num_channels, enc), **common)
            miner = model.miner
            loader = DataLoader(TensorDataset(x_train, torch.arange(n)), batch_size=s["batch_size"], shuffle=True)
            ts._trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
            acc[variant].append(_probe(model.encoder.encode(data.x_train), data.y_train,
                                       model.encoder.encode(data.x_test), data.y_test))
            if miner is None:
                continue
            clean = torch.ones(n, dtype=torch.bool)
            clean[planted["noisy"]] = clean[planted["faulty"]] = False
            warm, last = miner.statistic(s["warmup"]), miner.statistic(miner.epoch)
            mu, sd = float(last.mean()), float(last.std(unbiased=False))
            for kind, sign in (("noisy", -1.0), ("faulty", 1.0)):
                keep = clean.clone()
                keep[planted[kind]] = True
                is_planted = ~clean[keep]
                signal[kind].append(auroc(sign * warm[keep], is_planted))
                final_auroc[kind].append(auroc(sign * last[keep], is_planted))
                planted_z[kind].extend(((last[planted[kind]] - mu) / max(sd, 1e-12)).tolist())
                got = set(miner.flagged()[kind].tolist())
                flagged[kind] += len(got)
                hits[kind] += len(got & set(planted[kind].tolist()))
    result = ReproResult("dbpm", quick=quick)
    result.claims = detection_claims(s, len(seeds), signal, hits, flagged, n_bad)
    if quick:
        for claim in result.claims:
            claim.gating = False
    test = paired_comparison(acc["simclr+dbpm"], acc["simclr"], margin=0.0, alpha=s["alpha"])
    result.claims.append(Claim.from_test(
        "probe accuracy with DBPM > without (paired over seeds)", test, scale=100, unit=" pt",
        gating=s["accuracy_gating"] and not quick,
        note=f"SimCLR+DBPM {fmt(acc['simclr+dbpm'], 100, 1)} vs SimCLR {fmt(acc['simclr'], 100, 1)} %"))
    result.metrics = {
        "accuracy": acc, "signal_auroc_warmup": signal, "auroc_last_epoch": final_auroc,
        "planted_z_last_epoch": planted_z, "flagged": flagged, "hits": hits, "planted_per_seed": n_bad,
        "z_ceiling": z_ceiling(rate), "seeds": list(seeds), "seconds": time.time() - start,
        "config": {"hidden_dims": enc["hidden_dims"], "repr_dims": enc["repr_dims"], "depth": enc["depth"],
                   "batch_size": s["batch_size"], "epochs": s["epochs"], "lr": s["lr"],
                   "temperature": s["temperature"], "planted": rate, "beta_np": s["beta_np"], "beta_fp": s["beta_fp"]},
        "accuracy_test": test.to_dict()}
    return result
