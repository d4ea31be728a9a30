"""Forecasting probe: ridge regression from frozen representations to future values.

The TS2Vec / CoST / AutoTCL protocol (Yue et al., AAAI 2022, Sec. 4.2): the representation of
the last observed step of a look-back window is mapped to the next ``H`` values by ridge
regression ``W* = argmin_W |Y - R W|^2 + alpha |W|^2``, ``alpha`` chosen on a validation split
from ``{0.1, 0.2, 0.5, 1, 2, 5, ..., 1000}``; reported metrics are MSE and MAE on the test targets.
Nothing here takes a model: encode the windows first.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

DEFAULT_ALPHAS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)


def _as_2d(x: object, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().double().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a tensor or numpy array, got {type(x).__name__}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty (n, d) array, got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return x


def sliding_windows(series: Tensor, lookback: int, horizon: int) -> tuple[Tensor, Tensor]:
    """Look-back windows and their next ``horizon`` values.

    ``series``: ``(T,)`` or ``(C, T)``. Returns ``inputs`` ``(n, C, lookback)`` and ``targets``
    ``(n, C * horizon)`` for every start ``s`` with ``s + lookback + horizon <= T``.
    """
    if series.dim() == 1:
        series = series.unsqueeze(0)
    if series.dim() != 2:
        raise ValueError(f"series: expected (T,) or (C, T), got {tuple(series.shape)}")
    if lookback < 1 or horizon < 1:
        raise ValueError(f"lookback, horizon: expected integers >= 1, got {lookback}, {horizon}")
    n = series.shape[1] - lookback - horizon + 1
    if n < 1:
        raise ValueError(f"series: length {series.shape[1]} is too short for lookback={lookback} "
                         f"and horizon={horizon}")
    win = series.unfold(1, lookback + horizon, 1).permute(1, 0, 2)        # n x C x (L + H)
    return win[:, :, :lookback].contiguous(), win[:, :, lookback:].reshape(n, -1).contiguous()


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return w, my - mx @ w


def ridge_forecast(
    train_emb: object, train_targets: object, test_emb: object, test_targets: object, *,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS, valid_fraction: float = 0.2,
) -> dict[str, float]:
    """Ridge forecasting probe on frozen representations (TS2Vec protocol).

    Args:
        train_emb, test_emb: ``(n, d)`` representations (e.g. the last step of each look-back
            window), in time order.
        train_targets, test_targets: ``(n, H)`` future values.
        alphas: candidate ridge strengths; the one with the lowest MSE on the last
            ``valid_fraction`` of the training rows is refitted on all training rows.

    Returns:
        ``{"mse", "mae", "alpha"}`` on the test rows.
    """
    xtr, ytr = _as_2d(train_emb, "train_emb"), _as_2d(train_targets, "train_targets")
    xte, yte = _as_2d(test_emb, "test_emb"), _as_2d(test_targets, "test_targets")
    if xtr.shape[0] != ytr.shape[0]:
        raise ValueError(f"train_targets: expected {xtr.shape[0]} rows (as train_emb), got {ytr.shape[0]}")
    if xte.shape[0] != yte.shape[0]:
        raise ValueError(f"test_targets: expected {xte.shape[0]} rows (as test_emb), got {yte.shape[0]}")
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"test_emb: expected dimension {xtr.shape[1]} (as train_emb), got {xte.shape[1]}")
    if ytr.shape[1] != yte.shape[1]:
        raise ValueError(f"test_targets: expected horizon {ytr.shape[1]} (as train_targets), got {yte.shape[1]}")
    if not alphas or any(a <= 0 for a in alphas):
        raise ValueError(f"alphas: expected positive ridge strengths, got {alphas!r}")
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction: expected a number in (0, 1), got {valid_fraction!r}")
    n_valid = max(1, int(round(valid_fraction * xtr.shape[0])))
    if xtr.shape[0] - n_valid < 2:
        raise ValueError(f"train_emb: need at least {n_valid + 2} rows for the validation split")
    fit_x, fit_y = xtr[:-n_valid], ytr[:-n_valid]
    val_x, val_y = xtr[-n_valid:], ytr[-n_valid:]
    scores = []
    for a in alphas:
        w, b = _ridge(fit_x, fit_y, a)
        scores.append(float(((val_x @ w + b - val_y) ** 2).mean()))
    best = float(alphas[int(np.argmin(scores))])
    w, b = _ridge(xtr, ytr, best)
    pred = xte @ w + b
    return {"mse": float(((pred - yte) ** 2).mean()), "mae": float(np.abs(pred - yte).mean()),
            "alpha": best}


def chronological_split(n: int, test_fraction: float = 0.2) -> tuple[slice, slice]:
    """``(train, test)`` slices of ``n`` time-ordered rows; the test rows come last."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    cut = n - max(1, int(round(test_fraction * n)))
    return slice(0, cut), slice(cut, n)


__all__ = ["DEFAULT_ALPHAS", "chronological_split", "ridge_forecast", "sliding_windows"]

