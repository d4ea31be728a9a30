"""Reproduction of Decoupled Contrastive Learning (Yeh et al., ECCV 2022): DCL's gain over NT-Xent grows as the batch
shrinks; NT-Xent's positive gradient is coupled.

Settings: ``papers/dcl/recipe.yaml``; measured figures: ``docs/results.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.positives import Positives
from contrastkit.papers._vision import _seeds, base_recipe, run, variant
from contrastkit.pipeline.recipe import Recipe
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std


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


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
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

