"""Image miniatures of issue 2: DCL (batch-size gain + coupling mechanism), CACR, Wang & Liu's temperature.

Each function trains from a base recipe in ``contrastkit/recipes`` over a small grid and seeds,
checks the paper's claim on the measured numbers, and returns a :class:`ReproResult`. The quick
variants (1 seed, a few steps) are smoke tests: their claims are reported, never gating.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.positives import Positives
from contrastkit.pipeline.recipe import Recipe, apply_override, parse_recipe
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
QUICK_STEPS = 15


def base_recipe(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((RECIPES / f"{name}.yaml").read_text())


def variant(base: dict[str, Any], overrides: Sequence[str], quick: bool) -> Recipe:
    import copy

    data = copy.deepcopy(base)
    for item in overrides:
        apply_override(data, item)
    if quick:
        apply_override(data, f"trainer.max_steps={QUICK_STEPS}")
    return parse_recipe(data)


def cache_dir() -> Path:
    """Where finished reproduction runs are remembered (``$CONTRASTKIT_CACHE`` or ``~/.cache/contrastkit``)."""
    return Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit")) / "reproduce"


def run(recipe: Recipe, probe: Callable[[Any, Recipe], dict[str, float]] | None = None,
        *, cache: bool = True) -> dict[str, float]:
    """Train + evaluate ``recipe`` in a temporary folder and return its metrics.

    ``probe(model, recipe)`` adds measurements on the trained model. Finished full runs are cached
    by the hash of their recipe, so an interrupted reproduction continues where it stopped.
    """
    from contrastkit.pipeline.runfolder import load_model
    from contrastkit.pipeline.train import train

    key = hashlib.sha256(json.dumps(recipe.model_dump(), sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"{recipe.name}-{key}.json"
    if cache and path.is_file():
        return json.loads(path.read_text())
    with tempfile.TemporaryDirectory(prefix=f"ck-{recipe.name}-") as tmp:
        metrics = train(recipe, tmp, progress=False).metrics
        if probe is not None:
            metrics |= probe(load_model(tmp), recipe)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics))
    return metrics


def _seeds(quick: bool, seeds: Sequence[int]) -> list[int]:
    return [seeds[0]] if quick else list(seeds)


def positive_logit_gradients(z: torch.Tensor, batch: int, temperature: float) -> dict[str, float]:
    """Mean ``-dL_i/dl_ip`` over anchors for NT-Xent (``= 1 - p_pos``, the coupling factor ``q``)
    and DCL (``= 1``), measured by autograd on two-view embedding batches of size ``batch``."""
    out = {}
    n = (z.shape[1] // batch) * batch
    for name, in_denominator in (("ntxent", True), ("dcl", False)):
        grads = []
        for start in range(0, n, batch):
            a, b = z[0, start : start + batch], z[1, start : start + batch]
            stacked = F.normalize(torch.cat([a, b]), dim=1)
            logits = (stacked @ stacked.T / temperature).requires_grad_(True)
            weight, valid = Positives.views(batch).dense(logits.dtype)
            loss, _ = info_nce_rows(logits, weight, valid, positives_in_denominator=in_denominator)
            (g,) = torch.autograd.grad(loss.sum(), logits)
            grads.append(-(g * weight).sum(1))
        out[name] = float(torch.cat(grads).mean())
    return out


def dcl(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """DCL (Yeh et al. 2022): the gain over NT-Xent grows as the batch shrinks; mechanism: NT-Xent's
    positive gradient is scaled by ``q = 1 - p_pos`` (smaller at small batch), DCL's is constant."""
    base = base_recipe("dcl")
    acc: dict[tuple[str, int], list[float]] = {}
    mechanism: dict[str, list[float]] = {"q_16": [], "q_256": [], "dcl_16": [], "dcl_256": []}
    for seed in _seeds(quick, seeds):
        for batch in (32, 256):
            for loss in ("infonce", "dcl"):
                recipe = variant(base, [f"seed={seed}", f"method.loss={loss}", f"trainer.batch_size={batch}"],
                                 quick)
                probe = _coupling if (loss == "infonce" and batch == 256) else None
                metrics = run(recipe, probe, cache=not quick)
                acc.setdefault((loss, batch), []).append(metrics["linear_probe_accuracy"])
                if probe is not None:
                    for k in mechanism:
                        mechanism[k].append(metrics[k])
    gain = {b: mean_std(acc[("dcl", b)])[0] - mean_std(acc[("infonce", b)])[0] for b in (32, 256)}
    claims = [
        Claim("gain of DCL over NT-Xent is larger at batch 32 than at 256", gain[32] > gain[256],
              f"gain@32 = {gain[32]:+.4f}, gain@256 = {gain[256]:+.4f} (linear-probe accuracy)",
              gating=False),
        Claim("NT-Xent coupling q = 1 - p_pos is smaller at batch 16 than 256",
              mean_std(mechanism["q_16"])[0] < mean_std(mechanism["q_256"])[0],
              f"q@16 = {fmt(mechanism['q_16'], digits=4)}, q@256 = {fmt(mechanism['q_256'], digits=4)}",
              gating=not quick),
        Claim("DCL positive gradient is -1/tau at every batch size (no coupling)",
              all(abs(v - 1) < 1e-6 for v in mechanism["dcl_16"] + mechanism["dcl_256"]),
              f"-dL/dl_pos (per logit): batch 16 {fmt(mechanism['dcl_16'], digits=6)}, "
              f"batch 256 {fmt(mechanism['dcl_256'], digits=6)}", gating=not quick),
    ]
    metrics = {f"{loss}_batch{b}_linear_probe": v for (loss, b), v in acc.items()} | mechanism
    return ReproResult("dcl", claims, metrics, quick)


def _coupling(model: Any, recipe: Recipe) -> dict[str, float]:
    from contrastkit.pipeline.builders import build_augment
    from contrastkit.pipeline.evaluation import embed
    from contrastkit.vision.data import get_image_dataset

    test = get_image_dataset(recipe.data.dataset, "test", **recipe.data.kwargs)
    augment = build_augment(recipe.data.augment)
    torch.manual_seed(0)
    z = torch.stack([embed(model.projector, embed(model.encoder, augment(test.images))) for _ in range(2)])
    tau = float(recipe.method.loss_kwargs.get("temperature", 0.1))
    small, large = positive_logit_gradients(z, 16, tau), positive_logit_gradients(z, 256, tau)
    return {"q_16": small["ntxent"], "q_256": large["ntxent"], "dcl_16": small["dcl"], "dcl_256": large["dcl"]}


def cacr(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """CACR (Zheng et al. 2023) vs NT-Xent on balanced and long-tailed digits-on-canvas."""
    base = base_recipe("cacr")
    arms = {
        "ntxent": ["method.loss=infonce", "method.n_views=2", "method.loss_kwargs={temperature: 0.2}"],
        "cacr": ["method.loss=cacr", "method.n_views=5",
                 "method.loss_kwargs={alpha: 1.0, beta: 1.0, t_pos: 1.0, t_neg: 0.9}"],
    }
    acc: dict[tuple[str, str], list[float]] = {}
    for seed in _seeds(quick, seeds):
        for dataset in ("digits_canvas", "digits_canvas_longtail"):
            for arm, overrides in arms.items():
                recipe = variant(base, [f"seed={seed}", f"data.dataset={dataset}", *overrides], quick)
                metrics = run(recipe, cache=not quick)
                acc.setdefault((arm, dataset), []).append(metrics["linear_probe_accuracy"])
    m = {k: mean_std(v)[0] for k, v in acc.items()}
    bal = m[("cacr", "digits_canvas")] - m[("ntxent", "digits_canvas")]
    lt = m[("cacr", "digits_canvas_longtail")] - m[("ntxent", "digits_canvas_longtail")]
    claims = [
        Claim("balanced: CACR >= NT-Xent - 1 point", bal >= -0.01,
              f"CACR {fmt(acc[('cacr', 'digits_canvas')], 100)} vs NT-Xent "
              f"{fmt(acc[('ntxent', 'digits_canvas')], 100)} (gap {bal * 100:+.2f} points)", gating=not quick),
        Claim("long-tailed: CACR >= NT-Xent", lt >= 0,
              f"CACR {fmt(acc[('cacr', 'digits_canvas_longtail')], 100)} vs NT-Xent "
              f"{fmt(acc[('ntxent', 'digits_canvas_longtail')], 100)} (gap {lt * 100:+.2f} points)",
              gating=False),
    ]
    return ReproResult("cacr", claims, {f"{a}_{d}_linear_probe": v for (a, d), v in acc.items()}, quick)


def _increasing(values: list[float], allowed_inversions: int) -> bool:
    inversions = sum(1 for x, y in zip(values, values[1:], strict=False) if y < x)
    return inversions <= allowed_inversions


def temperature(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """Wang & Liu (2021): as tau falls, embeddings grow more uniform (lower L_U) and less tolerant."""
    base = base_recipe("temperature")
    taus = (0.1, 1.0) if quick else (0.1, 0.2, 0.5, 1.0)
    rows: dict[float, dict[str, list[float]]] = {}
    for seed in _seeds(quick, seeds):
        for tau in taus:
            recipe = variant(base, [f"seed={seed}", f"method.loss_kwargs.temperature={tau}"], quick)
            metrics = run(recipe, cache=not quick)
            for key in ("uniformity", "tolerance", "linear_probe_accuracy"):
                rows.setdefault(tau, {}).setdefault(key, []).append(metrics[key])
        if not quick:
            recipe = variant(base, [f"seed={seed}", "method.loss=hard_infonce",
                                    "method.loss_kwargs={temperature: 1.0, fraction: 0.1}"], quick)
            metrics = run(recipe, cache=not quick)
            for key in ("uniformity", "tolerance", "linear_probe_accuracy"):
                rows.setdefault(-1.0, {}).setdefault(key, []).append(metrics[key])
    unif = [mean_std(rows[t]["uniformity"])[0] for t in taus]
    tol = [mean_std(rows[t]["tolerance"])[0] for t in taus]
    table = "; ".join(f"tau={t}: L_U {fmt(rows[t]['uniformity'], digits=3)}, T {fmt(rows[t]['tolerance'], digits=3)}, "
                      f"acc {fmt(rows[t]['linear_probe_accuracy'], 100)}" for t in taus)
    claims = [
        Claim("uniformity loss rises with tau (one inversion allowed)", _increasing(unif, 1),
              f"L_U by tau {list(taus)}: {[round(u, 3) for u in unif]}", gating=not quick),
        Claim("tolerance rises with tau (one inversion allowed)", _increasing(tol, 1),
              f"T by tau {list(taus)}: {[round(t, 3) for t in tol]}", gating=not quick),
    ]
    if -1.0 in rows:
        hard_tol = mean_std(rows[-1.0]["tolerance"])[0]
        hard_acc = mean_std(rows[-1.0]["linear_probe_accuracy"])[0]
        plain_acc = mean_std(rows[1.0]["linear_probe_accuracy"])[0]
        claims.append(Claim("hard negatives (top 10%) at tau=1 lower tolerance vs plain tau=1",
                            hard_tol < tol[-1], f"T hard {hard_tol:.3f} vs plain {tol[-1]:.3f}", gating=False))
        claims.append(Claim("hard negatives at tau=1 are not worse than plain tau=1", hard_acc >= plain_acc - 0.01,
                            f"acc hard {hard_acc:.4f} vs plain {plain_acc:.4f}", gating=False))
    metrics = {"table": table} | {f"tau={t}": v for t, v in rows.items()}
    return ReproResult("temperature", claims, metrics, quick)
