"""Time-series reproductions on the data bundled with aeon: AutoTCL, COMET, DBPM, forecasting probe.

Each function reads its recipe (``contrastkit/recipes/{autotcl,comet,dbpm}.yaml``, plain data: the
single source of every setting and claim threshold), trains small CPU miniatures over seeds,
evaluates frozen representations with :func:`contrastkit.evaluate.linear_probe`, and checks the
paper's claim with the thresholds fixed in the recipe in advance (measured figures:
``docs/timeseries.md``). ``quick=True`` runs the first seed with the recipe's ``quick`` overrides.

- :func:`autotcl` (Zheng et al., ICLR 2024): learned augmentation >= the best fixed augmentation in
  linear-probe accuracy on at least ``min_wins`` of the sets;
- :func:`comet` (Wang et al., NeurIPS 2023): all four levels >= every single level in a
  subject-independent probe on a patient / trial / sample hierarchy built from BasicMotions;
- :func:`dbpm` (Lan et al., ICLR 2024): with planted noisy and faulty positive pairs on OSULeaf,
  flagged pairs have precision >= ``factor`` x the planted rate, and probe accuracy with DBPM >=
  without;
- :func:`forecasting` (TS2Vec, Yue et al., AAAI 2022, Sec. 4.2): ridge on TS2Vec representations
  of Airline look-back windows has a lower test MSE than the last-value forecast at every horizon
  (and, not gating, than ridge on the raw windows).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.timeseries.augment import jitter, permutation, scaling
from contrastkit.timeseries.data import load_ucr
from contrastkit.timeseries.encoder import TSEncoder

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
_ENCODER_KEYS = ("hidden_dims", "repr_dims", "depth", "mask_mode")


# ---------------------------------------------------------------------------------------- recipes
def load_recipe(name: str) -> dict[str, Any]:
    """The plain-data recipe ``recipes/<name>.yaml`` (``yaml.safe_load``); its ``name`` must match."""
    import yaml

    recipe = yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe {name!r}: expected a mapping at the top level, got {type(recipe).__name__}")
    if recipe.get("name") != name:
        raise ValueError(f"recipe {name!r}: expected the key 'name: {name}', got {recipe.get('name')!r}")
    return recipe


def _get(recipe: dict[str, Any], path: str, quick: bool = False) -> Any:
    """The value at the dotted ``path`` of ``recipe``; a missing key raises ``ValueError`` naming it.

    With ``quick``, an entry ``quick.<key>`` overrides ``training.<key>``.
    """
    head, _, key = path.partition(".")
    overrides = recipe.get("quick") or {}
    if quick and head == "training" and isinstance(overrides, dict) and key in overrides:
        return overrides[key]
    node: Any = recipe
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"recipe {recipe.get('name')!r}: missing required key {path!r}")
        node = node[part]
    return node


def _seeds(recipe: dict[str, Any], quick: bool, seeds: Sequence[int] | None) -> tuple[int, ...]:
    chosen = tuple(_get(recipe, "training.seeds") if seeds is None else seeds)
    return chosen[:1] if quick else chosen


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


def forecasting_settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of :func:`forecasting`, read from its recipe (``quick`` applies the overrides)."""
    def get(path: str) -> Any:
        return _get(recipe, path, quick)

    return {
        "dataset": get("dataset.name"),
        "test_fraction": get("dataset.test_fraction"),
        "lookback": get("windows.lookback"),
        "horizons": list(get("windows.horizons")),
        "encoder": {k: get(f"encoder.{k}") for k in _ENCODER_KEYS},
        **{k: get(f"training.{k}") for k in (
            "segment_length", "alpha", "temporal_unit", "lr", "batch_size", "epochs")},
        "trainer": dict(get("training.trainer")),
        "last_value_gating": bool(get("claims.vs_last_value.gating")),
        "raw_gating": bool(get("claims.vs_raw.gating")),
    }


# ---------------------------------------------------------------------------------------- helpers
def _trainer(trainer: dict[str, Any], **kwargs: Any) -> L.Trainer:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*small batch size.*")
    return L.Trainer(**trainer, enable_progress_bar=False, enable_model_summary=False, **kwargs)


def _probe(train_emb: Tensor, train_y: Tensor, test_emb: Tensor, test_y: Tensor) -> float:
    from contrastkit.evaluate import linear_probe

    return float(linear_probe(train_emb, train_y, test_emb, test_y))


def _encoder(channels: int, enc: dict[str, Any]) -> TSEncoder:
    return TSEncoder(channels, output_dims=enc["repr_dims"], hidden_dims=enc["hidden_dims"],
                     depth=enc["depth"], mask_mode=enc["mask_mode"])


# ---------------------------------------------------------------------------------------- AutoTCL
def autotcl(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
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
    from contrastkit.methods.autotcl import AutoTCL

    torch.set_num_threads(1)
    recipe = load_recipe("autotcl")
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
                _trainer(s["trainer"], max_epochs=1).fit(model, loader)
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


# ---------------------------------------------------------------------------------------- COMET
def comet(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """COMET miniature on a hierarchy built from BasicMotions (see
    :func:`contrastkit.timeseries.comet.build_hierarchy`): pseudo-patients x trials x windows,
    split by patient (stratified). Settings: ``recipes/comet.yaml`` (``seeds=None``: the recipe's).

    Variants: all four levels (0.25 each) and each single level alone, on a TS2Vec encoder with
    batches that keep patients together. Subject-independent probe: logistic regression on sample
    embeddings of the training patients, accuracy on the test patients.
    Claim (gating): mean accuracy of ``all`` >= the mean of every single level.
    """
    from contrastkit.methods.comet import COMET, GroupBatchSampler
    from contrastkit.timeseries.comet import build_hierarchy, patient_split

    torch.set_num_threads(1)
    recipe = load_recipe("comet")
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
            _trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
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


# ---------------------------------------------------------------------------------------- DBPM
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


def dbpm(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
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
    recipe = load_recipe("dbpm")
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
            _trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
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


# ---------------------------------------------------------------------------------------- forecasting
def _last_step(encoder: TSEncoder, x: Tensor) -> Tensor:
    """Representation of the last step of each window ``(n, C, L)`` (eval mode, no mask, no grad)."""
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        z = encoder(x, mask="all_true")[:, -1]
    encoder.train(was_training)
    return z


def forecasting(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Forecasting probe on the Airline series (144 months): TS2Vec representations vs raw windows.

    Settings: ``recipes/forecasting.yaml`` (``seeds=None``: the recipe's seeds). The series is
    log-transformed and standardised with the mean and std of its training part (the first
    ``1 - test_fraction`` of the months). Per horizon ``H``, window ``i`` is the look-back
    ``s[i : i + L]`` with targets ``s[i + L : i + L + H]``; training windows have all targets in the
    training part, test windows all targets in the test part (straddling windows are dropped;
    test inputs may reach back into the training part, which is observed history).
    Per seed, a TS2Vec encoder is trained on the ``segment_length`` slices of the training part only;
    each window is then encoded on its own (the encoder sees nothing after the window) and its
    last-timestep representation is mapped to the targets by
    :func:`contrastkit.evaluate.ridge_forecast` (alpha on the last 20 % of training windows).
    Baselines: the same ridge on the raw window, and the last value repeated ``H`` times.
    MSE / MAE are on the standardised log scale.
    Claims: mean MSE over seeds of ridge on representations < last-value MSE at every horizon
    (gating); < ridge on raw windows at every horizon (not gating).
    """
    from contrastkit.evaluate.forecasting import ridge_forecast, sliding_windows
    from contrastkit.methods.ts_contrastive import TS2Vec
    from contrastkit.timeseries.data import load_forecasting_series

    torch.set_num_threads(1)
    recipe = load_recipe("forecasting")
    s = forecasting_settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    enc, lookback, horizons = s["encoder"], s["lookback"], s["horizons"]
    cfg = {"hidden_dims": enc["hidden_dims"], "repr_dims": enc["repr_dims"], "depth": enc["depth"],
           "batch_size": s["batch_size"], "epochs": s["epochs"], "lr": s["lr"],
           "lookback": lookback, "segment_length": s["segment_length"]}
    raw = load_forecasting_series(s["dataset"]).double().log()
    total = raw.shape[0]
    cut = total - max(1, int(round(s["test_fraction"] * total)))
    series = ((raw - raw[:cut].mean()) / raw[:cut].std()).float()
    segments = series[:cut].unfold(0, s["segment_length"], 1).unsqueeze(1)  # n x 1 x segment_length
    splits = {}
    for h in horizons:
        x, y = sliding_windows(series, lookback, h)
        start_idx = torch.arange(x.shape[0])
        train = start_idx + lookback + h <= cut
        test = start_idx + lookback >= cut
        if train.sum() < 5 or test.sum() < 1:
            raise ValueError(f"windows: lookback={lookback}, horizon={h} leave too few train/test "
                             f"windows in a series of {total} steps")
        splits[h] = (x[train], y[train], x[test], y[test])

    start = time.time()
    metrics: dict[str, dict[str, dict[str, list[float]]]] = {
        m: {str(h): {"mse": [], "mae": []} for h in horizons} for m in ("ts2vec", "raw", "last_value")}
    for h in horizons:
        xtr, ytr, xte, yte = splits[h]
        out = ridge_forecast(xtr[:, 0], ytr, xte[:, 0], yte)
        metrics["raw"][str(h)] = {"mse": [out["mse"]], "mae": [out["mae"]]}
        err = xte[:, 0, -1:].double() - yte.double()
        metrics["last_value"][str(h)] = {"mse": [float((err ** 2).mean())],
                                         "mae": [float(err.abs().mean())]}
    for seed in seeds:
        L.seed_everything(seed, verbose=False)
        model = TS2Vec(_encoder(1, enc), lr=s["lr"], alpha=s["alpha"], temporal_unit=s["temporal_unit"])
        loader = DataLoader(TensorDataset(segments), batch_size=s["batch_size"], shuffle=True)
        _trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
        for h in horizons:
            xtr, ytr, xte, yte = splits[h]
            out = ridge_forecast(_last_step(model.encoder, xtr), ytr, _last_step(model.encoder, xte), yte)
            metrics["ts2vec"][str(h)]["mse"].append(out["mse"])
            metrics["ts2vec"][str(h)]["mae"].append(out["mae"])

    def mean_mse(method: str, h: int) -> float:
        return mean_std(metrics[method][str(h)]["mse"])[0]

    detail = "; ".join(
        f"H={h}: TS2Vec {fmt(metrics['ts2vec'][str(h)]['mse'], 1, 3)}, raw ridge "
        f"{mean_mse('raw', h):.3f}, last value {mean_mse('last_value', h):.3f}" for h in horizons)
    result = ReproResult("forecasting", quick=quick)
    result.claims.append(Claim(
        "ridge on TS2Vec representations has lower test MSE than the last-value baseline at every "
        "horizon", all(mean_mse("ts2vec", h) < mean_mse("last_value", h) for h in horizons),
        detail, gating=s["last_value_gating"]))
    result.claims.append(Claim(
        "ridge on TS2Vec representations has lower test MSE than ridge on raw windows at every horizon",
        all(mean_mse("ts2vec", h) < mean_mse("raw", h) for h in horizons), detail,
        gating=s["raw_gating"]))
    result.metrics = {"forecast": metrics, "horizons": list(horizons), "config": cfg,
                      "seeds": list(seeds), "train_steps": cut, "test_steps": total - cut,
                      "seconds": time.time() - start}
    return result


__all__ = ["autotcl", "autotcl_settings", "comet", "comet_settings", "dbpm", "dbpm_settings",
           "forecasting", "forecasting_settings", "load_recipe"]
