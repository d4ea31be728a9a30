"""Reproduction of Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate (arXiv 2410.18200):
SupCon on arbitrary pairs collapses, gated version keeps accuracy.

Settings: ``papers/hydra/recipe.yaml``; measured figures: ``docs/multimodal.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from contrastkit import evaluate as ev
from contrastkit.papers._multimodal import (
    _cnn,
    _digits_canvas,
    _embed,
    _fit,
    _mean,
    _seeds,
    _subset,
    _table,
    load_recipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """Hydra / SimLAP: SupCon with arbitrary class pairs as positives loses linear-probe
    accuracy, the gated loss keeps it. Claims (gating): hydra_arbitrary >= supcon_arbitrary + 2 points
    and >= supcon - 2 points (3-seed means of backbone linear-probe accuracy); effective rank reported."""
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
    for seed in _seeds(quick, seeds):
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
    m = {k: _mean(v) for k, v in acc.items()}
    c = cfg["claims"]
    gate = not quick
    claims = [
        Claim(f"gated arbitrary pairs >= ungated arbitrary + {c['gain_over_arbitrary_min'] * 100:.0f} points",
              m["hydra_arbitrary"] >= m["supcon_arbitrary"] + c["gain_over_arbitrary_min"],
              f"Hydra {fmt(acc['hydra_arbitrary'], 100)}% vs SupCon-arbitrary {fmt(acc['supcon_arbitrary'], 100)}%",
              gating=gate),
        Claim(f"gated arbitrary pairs >= SupCon - {c['gap_to_supcon_max'] * 100:.0f} points",
              m["hydra_arbitrary"] >= m["supcon"] - c["gap_to_supcon_max"],
              f"Hydra {fmt(acc['hydra_arbitrary'], 100)}% vs SupCon {fmt(acc['supcon'], 100)}%", gating=gate),
        Claim("effective rank of backbone features (reported)", True, _table(rank, 1.0, 1), gating=False),
    ]
    return ReproResult("hydra", claims, {"linear_probe": acc, "effective_rank": rank}, quick)

