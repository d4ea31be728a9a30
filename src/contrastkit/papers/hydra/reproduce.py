"""Reproduction of Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate (arXiv 2410.18200):
SupCon on arbitrary pairs collapses, gated version keeps accuracy.

Settings: ``papers/hydra/recipe.yaml``; measured figures: ``docs/multimodal.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from contrastkit import evaluate as ev
from contrastkit.papers._claims import gate, main, paired, power_precondition, run_seeds
from contrastkit.papers._multimodal import (
    _cnn,
    _digits_canvas,
    _embed,
    _fit,
    _subset,
    _table,
    load_recipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Hydra / SimLAP: SupCon with arbitrary class pairs as positives loses linear-probe
    accuracy, the gated loss keeps it; over the recipe's seeds (``seeds`` overrides them).

    Precondition: arbitrary positives hurt ungated SupCon (paired). Claims (paired one-sided t-tests
    over seeds of backbone linear-probe accuracy, each with its power precondition): hydra_arbitrary >
    supcon_arbitrary + 2 points, and hydra_arbitrary >= supcon - 2 points (non-inferiority).
    Effective rank reported."""
    from contrastkit.papers.hydra.module import HydraContrastive
    from contrastkit.vision.augment import SimCLRAugment
    from contrastkit.vision.encoders import ProjectionHead

    torch.set_num_threads(1)
    cfg = load_recipe("hydra")
    q = cfg["quick"] if quick else {}
    xtr, ytr = _digits_canvas("train")
    xte, yte = _digits_canvas("test")
    itr, ite = _subset(len(ytr), q.get("n_train")), _subset(len(yte), q.get("n_test"))
    xtr, ytr, xte, yte = xtr[itr], ytr[itr], xte[ite], yte[ite]
    tr, mc = cfg["trainer"], cfg["model"]
    acc: dict[str, list[float]] = {}
    rank: dict[str, list[float]] = {}
    for seed in run_seeds(cfg, quick, seeds):
        for arm, spec in cfg["arms"].items():
            torch.manual_seed(seed)
            enc = _cnn(mc["image_encoder"]["widths"])
            proj = ProjectionHead(enc.feature_dim, mc["projector_hidden"], mc["projector_out"])
            model = HydraContrastive(enc, proj, SimCLRAugment.for_canvas(), xtr, ytr, num_classes=10,
                                     pair_mode=spec["pair_mode"], gated=spec["gated"], gate_kwargs=mc["gate"],
                                     temperature=cfg["method"]["temperature"],
                                     batch_size=min(q.get("batch_size", tr["batch_size"]), len(ytr)),
                                     lr=tr["lr"], seed=seed)
            _fit(model, q.get("max_steps", tr["max_steps"]))
            htr, hte = _embed(model.encoder, xtr), _embed(model.encoder, xte)
            acc.setdefault(arm, []).append(ev.linear_probe(htr, ytr, hte, yte, seed=seed))
            rank.setdefault(arm, []).append(ev.effective_rank(hte))
    return decide(cfg, {"linear_probe": acc, "effective_rank": rank}, quick)


def decide(cfg: dict[str, Any], metrics: dict[str, Any], quick: bool) -> ReproResult:
    """Precondition and claims from per-seed linear-probe accuracies ``metrics["linear_probe"][arm]``."""
    c, acc = cfg["claims"], metrics["linear_probe"]
    hurt = paired(acc["supcon"], acc["supcon_arbitrary"], c["arbitrary_hurts"])
    gain = paired(acc["hydra_arbitrary"], acc["supcon_arbitrary"], c["gain_over_arbitrary"])
    noninf = paired(acc["hydra_arbitrary"], acc["supcon"], c["vs_supcon"])
    h, sa, s = (fmt(acc[k], 100) for k in ("hydra_arbitrary", "supcon_arbitrary", "supcon"))
    gain_name = f"gated arbitrary pairs > ungated arbitrary + {c['gain_over_arbitrary']['margin'] * 100:.0f} points"
    noninf_name = (f"gated arbitrary pairs >= SupCon - {-c['vs_supcon']['margin'] * 100:.0f} points "
                   "(non-inferiority)")
    claims = [
        Claim.from_test("arbitrary positives hurt ungated SupCon", hurt, scale=100, unit=" points",
                        precondition=True, note=f"SupCon {s}% vs SupCon-arbitrary {sa}%"),
        power_precondition("gated vs ungated arbitrary pairs", gain, c["gain_over_arbitrary"]["paper_effect"],
                           scale=100, unit=" points", guards=gain_name),
        Claim.from_test(gain_name, gain, scale=100, unit=" points", note=f"Hydra {h}% vs SupCon-arbitrary {sa}%"),
        power_precondition("gated arbitrary pairs vs SupCon", noninf, c["vs_supcon"]["paper_effect"], scale=100,
                           unit=" points", guards=noninf_name),
        Claim.from_test(noninf_name, noninf, scale=100, unit=" points", note=f"Hydra {h}% vs SupCon {s}%"),
    ]
    if "effective_rank" in metrics:
        claims.append(Claim("effective rank of backbone features (reported)", True,
                            _table(metrics["effective_rank"], 1.0, 1), gating=False))
    return ReproResult("hydra", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
