"""Reproduction of the TS2Vec forecasting protocol (Yue et al., AAAI 2022, Sec. 4.2) on the bundled
Airline series: ridge on TS2Vec representations vs the last value and vs ridge on the raw window.

Settings: ``papers/forecasting/recipe.yaml`` (seeds, horizons, alpha, gating).
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
from contrastkit.papers._timeseries import _ENCODER_KEYS, _encoder, _get, _seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison
from contrastkit.timeseries.encoder import TSEncoder


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


def _last_step(encoder: TSEncoder, x: Tensor) -> Tensor:
    """Representation of the last step of each window ``(n, C, L)`` (eval mode, no mask, no grad)."""
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        z = encoder(x, mask="all_true")[:, -1]
    encoder.train(was_training)
    return z


def forecasting_claims(metrics: dict[str, Any], horizons: Sequence[int], alpha: float, quick: bool,
                       raw_gating: bool) -> list[Claim]:
    """Precondition and claims from ``metrics[method][str(h)]["mse"]`` (``ts2vec``: one value per seed;
    ``raw`` / ``last_value``: deterministic, one value).

    Precondition: the linear probe protocol can beat the last value at all -- ridge on the raw look-back
    window has a lower test MSE than the last value at every horizon (deterministic).
    Claims: at every horizon, TS2Vec + ridge has a lower MSE than the last value (gating) and than raw ridge
    (not gating): one-sided paired t-tests over seeds of the MSE reduction (lower is better, so the
    differences are ``baseline - ts2vec``). Every horizon must hold (intersection-union test: each at alpha).
    """
    def mse(method: str, h: int) -> list[float]:
        return metrics[method][str(h)]["mse"]

    raw_ok = all(mse("raw", h)[0] < mse("last_value", h)[0] for h in horizons)
    claims = [Claim("ridge on the raw window beats the last value at every horizon (the probe protocol works)",
                    raw_ok, "; ".join(f"H={h}: raw {mse('raw', h)[0]:.3f} vs last value {mse('last_value', h)[0]:.3f}"
                                      for h in horizons), gating=not quick, precondition=True)]
    for baseline, words, gating in (("last_value", "the last value", not quick), ("raw", "ridge on raw windows",
                                                                                  raw_gating and not quick)):
        tests = {h: paired_comparison([-v for v in mse("ts2vec", h)], [-mse(baseline, h)[0]] * len(mse("ts2vec", h)),
                                      alpha=alpha) for h in horizons}
        detail = "; ".join(f"H={h}: TS2Vec {fmt(mse('ts2vec', h), 1, 3)} vs {mse(baseline, h)[0]:.3f}, "
                           f"{tests[h].describe()}" for h in horizons)
        claims.append(Claim(f"TS2Vec + ridge has a lower test MSE than {words} at every horizon",
                            all(t.holds for t in tests.values()), detail, gating=gating))
    return claims


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Forecasting probe on the Airline series (144 months): TS2Vec representations vs raw windows.

    Settings: ``papers/forecasting/recipe.yaml`` (``seeds=None``: the recipe's seeds). The series is
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
    Precondition and claims: :func:`forecasting_claims` (paired one-sided t-tests over seeds per horizon).
    """
    from contrastkit.evaluate.forecasting import ridge_forecast, sliding_windows
    from contrastkit.methods.ts_contrastive import TS2Vec
    from contrastkit.timeseries.data import load_forecasting_series

    torch.set_num_threads(1)
    recipe = ts.load_recipe("forecasting")
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
        ts._trainer(s["trainer"], max_epochs=s["epochs"]).fit(model, loader)
        for h in horizons:
            xtr, ytr, xte, yte = splits[h]
            out = ridge_forecast(_last_step(model.encoder, xtr), ytr, _last_step(model.encoder, xte), yte)
            metrics["ts2vec"][str(h)]["mse"].append(out["mse"])
            metrics["ts2vec"][str(h)]["mae"].append(out["mae"])

    result = ReproResult("forecasting", quick=quick)
    result.claims = forecasting_claims(metrics, horizons, float(_get(recipe, "claims.alpha")), quick,
                                       s["raw_gating"])
    result.metrics = {"forecast": metrics, "horizons": list(horizons), "config": cfg,
                      "seeds": list(seeds), "train_steps": cut, "test_steps": total - cut,
                      "seconds": time.time() - start}
    return result
