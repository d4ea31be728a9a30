"""Reproduction of CWCL: Cross-Modal Transfer with Continuously Weighted Contrastive Loss (Srinivasa et al., NeurIPS
2023): CWCL zero-shot ≥ InfoNCE.

Settings: ``papers/cwcl/recipe.yaml``; measured figures: ``docs/multimodal.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from contrastkit.papers._multimodal import (
    _cnn,
    _digit_pairs,
    _digit_text_bank,
    _fit,
    _lookup,
    _mean,
    _seeds,
    _two_tower_metrics,
    load_recipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """CWCL vs InfoNCE with the frozen MiniLM text tower. Claim: CWCL's zero-shot
    accuracy >= InfoNCE's (3-seed means). Not gating: the design's calibration found no gap at this
    scale (the MiniLM cosines crowd into a narrow band, so the weights are nearly flat); the
    sharpened-weight probe is reported next to it."""
    from contrastkit.papers.clip.module import CLIP

    torch.set_num_threads(1)
    cfg = load_recipe("cwcl")
    q = cfg["quick"] if quick else {}
    bank = _digit_text_bank()
    d = cfg["data"]
    train = _digit_pairs("train", d["templates"], d["caption_seed"], q.get("n_train"))
    test = _digit_pairs("test", d["templates"], d["caption_seed"], q.get("n_test"))
    tr, m = cfg["trainer"], cfg["method"]
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in _seeds(quick, seeds):
        for arm, spec in cfg["arms"].items():
            torch.manual_seed(seed)
            enc = _cnn(cfg["model"]["image_encoder"]["widths"])
            model = CLIP(enc, train.images, train.caption_ids, frozen_text=_lookup(bank, train.captions),
                         image_feature_dim=enc.feature_dim, embed_dim=cfg["model"]["embed_dim"], loss=spec["loss"],
                         cwcl_kwargs=spec.get("cwcl_kwargs"), init_temperature=m["init_temperature"],
                         max_logit_scale=m["max_logit_scale"], batch_size=min(tr["batch_size"], len(train)),
                         lr=tr["lr"], seed=seed)
            _fit(model, q.get("max_steps", tr["max_steps"]))
            met = _two_tower_metrics(model, test, prompt_emb=_lookup(bank, test.class_prompts),
                                     caption_emb=_lookup(bank, test.captions))
            for k, v in met.items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    w = _weight_stats(bank, train.captions, train.caption_labels)
    zs = {arm: r["zero_shot"] for arm, r in rows.items()}
    claims = [
        Claim("CWCL zero-shot >= InfoNCE zero-shot (frozen MiniLM tower)",
              _mean(zs["cwcl"]) >= _mean(zs["infonce"]),
              f"CWCL {fmt(zs['cwcl'], 100)}% vs InfoNCE {fmt(zs['infonce'], 100)}%", gating=False),
        Claim("sharpened-weight CWCL (exp((cos-1)/0.1)) vs InfoNCE (probe, reported)",
              _mean(zs["cwcl_sharpened"]) >= _mean(zs["infonce"]),
              f"sharpened {fmt(zs['cwcl_sharpened'], 100)}% vs InfoNCE {fmt(zs['infonce'], 100)}%", gating=False),
        Claim("CWCL targets are nearly flat (why no gap is expected)", True,
              f"mean w same class {w['same']:.3f}, other class {w['other']:.3f}", gating=False),
    ]
    return ReproResult("cwcl", claims, rows | {"weights": w}, quick)


def _weight_stats(bank: dict[str, Tensor], captions: list[str], caption_labels: Tensor) -> dict[str, float]:
    from contrastkit.losses.cwcl import cwcl_weights

    w = cwcl_weights(_lookup(bank, captions))
    same = caption_labels[:, None] == caption_labels[None, :]
    off = ~torch.eye(len(captions), dtype=torch.bool)
    return {"same": float(w[same & off].mean()), "other": float(w[~same].mean())}

