"""SupReMix (Wu et al. 2023, arXiv 2309.16633, "Mixup Your Own Pairs") in miniature: rotation-angle
regression on real handwritten digits, in age-like units (integer degrees spanning -30..30).

Arms: the untrained encoder (precondition only), L1 regression, SupCon as in the official scripts
(exact labels, ``|dy| + 1`` weight, no mixtures), SupReMix (mixtures, window 5, Beta(2, 8), tau 0.3).
Metric: ridge-probe MAE (degrees) on frozen backbone features of the test digits.

Preconditions (``not testable`` when one fails): the L1 baseline learns; exact-label positives exist;
the distance magnifier spans a useful range; the design's MDE is at most the paper's effect.
Claims: SupReMix's MAE < SupCon's and < L1's (paired one-sided t-tests over seeds).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def rotated_digits(images8: Tensor, *, max_angle: float = 60.0, copies: int = 1,
                   seed: int = 0) -> tuple[Tensor, Tensor]:
    """Real handwritten digits (8x8, upsampled to 16x16) rotated by ``U(-max_angle, max_angle)`` degrees.

    Returns ``(images (copies * n, 1, 16, 16), y)`` with the regression target
    ``y = (angle + max_angle) / (2 max_angle)`` in ``[0, 1]`` (bilinear rotation, zero padding).
    """
    x = images8.reshape(-1, 1, 8, 8).repeat_interleave(2, 2).repeat_interleave(2, 3).repeat(copies, 1, 1, 1)
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(x.shape[0], generator=g)
    rad = (y * 2 - 1) * max_angle * math.pi / 180
    cos, sin = torch.cos(rad), torch.sin(rad)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros"), y


def rotated_digits_integer(images8: Tensor, *, max_angle: int = 30, copies: int = 1,
                           seed: int = 0) -> tuple[Tensor, Tensor]:
    """Digits (8x8, upsampled to 16x16) rotated by an integer angle uniform on ``-max_angle..max_angle``.

    Returns ``(images (copies * n, 1, 16, 16), angle in degrees (float, integer-valued))`` (bilinear
    rotation, zero padding).
    """
    if not (isinstance(max_angle, int) and 0 < max_angle <= 180):
        raise ValueError(f"max_angle: expected an integer in 1..180 degrees, got {max_angle!r}")
    x = images8.reshape(-1, 1, 8, 8).repeat_interleave(2, 2).repeat_interleave(2, 3).repeat(copies, 1, 1, 1)
    g = torch.Generator().manual_seed(seed)
    deg = torch.randint(-max_angle, max_angle + 1, (x.shape[0],), generator=g).float()
    rad = deg * math.pi / 180
    cos, sin, zero = torch.cos(rad), torch.sin(rad), torch.zeros_like(rad)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros"), deg


def exact_positive_share(y: Tensor, batch_size: int) -> float:
    """Expected share of anchors with a same-label sample (other than its own view) in a random batch."""
    _, counts = torch.unique(y, return_counts=True)
    p = counts.double() / counts.sum()
    return float((p * (1 - (1 - p) ** (batch_size - 1))).sum())


def mean_weight(y: Tensor) -> float:
    """Mean distance-magnifier weight ``|y_i - y_j| + 1`` over distinct pairs (label units)."""
    i, j = torch.triu_indices(len(y), len(y), 1)
    return float(((y[i] - y[j]).abs() + 1).mean())


def _ridge_mae(htr: Tensor, ytr: Tensor, hte: Tensor, yte: Tensor, alphas: Sequence[float]) -> float:
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(htr.double().numpy())
    reg = RidgeCV(alphas=tuple(alphas)).fit(sc.transform(htr.double().numpy()), ytr.numpy())
    pred = torch.from_numpy(reg.predict(sc.transform(hte.double().numpy())))
    return float((pred - yte.double()).abs().mean())


def _data(cfg: dict[str, Any], quick: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from contrastkit.papers._multimodal import _subset
    from contrastkit.vision.data import load_digits

    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    tr, te = load_digits("train"), load_digits("test")
    xtr, ytr = rotated_digits_integer(tr.images, max_angle=d["max_angle"], copies=d["copies"], seed=d["seed"])
    xte, yte = rotated_digits_integer(te.images, max_angle=d["max_angle"], copies=1, seed=d["seed"] + 1)
    itr, ite = _subset(len(ytr), q.get("n_train")), _subset(len(yte), q.get("n_test"))
    return xtr[itr], ytr[itr], xte[ite], yte[ite]


def _train_arm(cfg: dict[str, Any], arm: str, seed: int, quick: bool, data: tuple[Tensor, ...]) -> float:
    from contrastkit.papers._multimodal import _canvas_augment, _cnn, _embed, _fit
    from contrastkit.papers.supremix.module import ContrastiveRegression
    from contrastkit.vision.encoders import ProjectionHead

    xtr, ytr, xte, yte = data
    q = cfg["quick"] if quick else {}
    spec, a, tr, mc = cfg["arms"][arm], cfg["augment"], cfg["trainer"], cfg["model"]
    alphas = cfg["evaluation"]["ridge_alphas"]
    torch.manual_seed(seed)
    enc = _cnn(mc["encoder"]["widths"], pool_between=mc["encoder"]["pool_between"])
    if spec["objective"] == "none":  # the untrained encoder: what the probe gets from architecture alone
        return _ridge_mae(_embed(enc.eval(), xtr), ytr, _embed(enc, xte), yte, alphas)
    proj = ProjectionHead(enc.feature_dim, mc["projector_hidden"], mc["projector_out"])
    kwargs = copy.deepcopy(spec.get("loss_kwargs", {}))
    if "beta" in kwargs:
        kwargs["beta"] = tuple(kwargs["beta"])
    # L1 regresses standardised targets (an affine change of units leaves its minimiser unchanged);
    # the contrastive arms see the labels in their units, as the weight and the window need.
    targets = (ytr - ytr.mean()) / ytr.std() if spec["objective"] == "l1" else ytr
    model = ContrastiveRegression(enc, proj, enc.feature_dim, _canvas_augment(a["max_shift"], a["intensity"],
                                                                               a["noise_std"]),
                                  xtr, targets, objective=spec["objective"], loss_kwargs=kwargs,
                                  batch_size=min(tr["batch_size"], len(xtr)), lr=tr["lr"], seed=seed)
    _fit(model, q.get("max_steps", tr["max_steps"]))
    return _ridge_mae(_embed(model.encoder, xtr), ytr, _embed(model.encoder, xte), yte, alphas)


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Train every arm on every seed and decide the preconditions and the claims (module doc)."""
    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    data = _data(cfg, quick)
    mae: dict[str, list[float]] = {arm: [] for arm in cfg["arms"]}
    for seed in seeds:
        print(f"seed {seed} ...", file=sys.stderr, flush=True)
        for arm in cfg["arms"]:
            mae[arm].append(_train_arm(cfg, arm, seed, quick, data))
    ytr, yte = data[1], data[3]
    design = {"constant_mae": float((yte - ytr.median()).abs().mean()),
              "exact_positive_share": exact_positive_share(ytr, cfg["trainer"]["batch_size"]),
              "mean_weight": mean_weight(ytr)}
    result = decide(cfg, mae, design, quick)
    result.metrics["seeds"] = list(seeds)
    return result


def decide(cfg: dict[str, Any], mae: dict[str, list[float]], design: dict[str, float], quick: bool) -> ReproResult:
    """Preconditions and claims from per-seed probe MAEs ``mae[arm]`` (degrees) and the design numbers."""
    c = cfg["claims"]
    neg = {k: [-v for v in vals] for k, vals in mae.items()}  # higher is better for the paired test
    l1_mean = sum(mae["l1"]) / len(mae["l1"])
    ratio = l1_mean / design["constant_mae"]
    claims = [
        Claim("the L1 baseline learns the angle (probe MAE vs the constant predictor's)",
              ratio <= c["baseline_mae_ratio_max"],
              f"L1 {fmt(mae['l1'], 1)}° vs constant {design['constant_mae']:.2f}° (ratio {ratio:.2f}, "
              f"max {c['baseline_mae_ratio_max']})", precondition=True),
        Claim.from_test("L1 training improves on the untrained encoder's probe MAE",
                        paired(neg["l1"], neg["random_init"], c["baseline_vs_random_init"]), unit="°",
                        precondition=True,
                        note=f"L1 {fmt(mae['l1'], 1)}° vs untrained {fmt(mae['random_init'], 1)}°"),
        Claim("exact-label positives exist in a batch", design["exact_positive_share"] >= c["exact_positive_share_min"],
              f"share of anchors with one {design['exact_positive_share']:.2f} (min {c['exact_positive_share_min']})",
              precondition=True),
        Claim("the distance magnifier |Δy| + 1 spans a useful range", design["mean_weight"] >= c["mean_weight_min"],
              f"mean weight {design['mean_weight']:.1f} (min {c['mean_weight_min']})", precondition=True),
    ]
    for base in ("supcon", "l1"):
        spec = c[f"vs_{base}"]
        test = paired(neg["supremix"], neg[base], spec)
        effect = spec["paper_effect_relative"] * l1_mean
        claim = f"SupReMix probe MAE < {base}"
        claims.append(power_precondition(f"SupReMix vs {base} MAE", test, effect, unit="°", guards=claim))
        claims.append(Claim.from_test(claim, test, unit="°",
                                      note=f"SupReMix {fmt(mae['supremix'], 1)}° vs {base} {fmt(mae[base], 1)}°"))
    return ReproResult("supremix", gate(claims, quick), {"probe_mae_degrees": mae, "design": design}, quick)


def redecide(metrics: dict[str, Any], quick: bool = False) -> ReproResult:
    """The claims of stored (merged) per-seed metrics, training nothing (``--merge``)."""
    result = decide(load_recipe(RECIPE), metrics["probe_mae_degrees"], metrics["design"], quick)
    result.metrics |= {k: v for k, v in metrics.items() if k not in result.metrics}
    return result


if __name__ == "__main__":
    raise SystemExit(main(reproduce, redecide=redecide))
