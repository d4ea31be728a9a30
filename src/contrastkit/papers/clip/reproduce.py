"""Reproduction of Learning Transferable Visual Models From Natural Language Supervision (CLIP); LiT (Zhai et al., CVPR
2022) (Radford et al., ICML 2021): CLIP from scratch; LiT with frozen MiniLM on unseen prompts.

Settings: ``papers/clip/recipe.yaml``; measured figures: ``docs/multimodal.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from contrastkit.papers._claims import gate, main, paired, power_precondition, run_seeds
from contrastkit.papers._multimodal import (
    _bow,
    _cnn,
    _digit_pairs,
    _digit_text_bank,
    _fit,
    _lookup,
    _subset,
    _two_tower_metrics,
    load_recipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison


def _train_clip_digits(cfg: dict[str, Any], seed: int, quick: bool, *, locked: bool,
                       bank: dict[str, Tensor] | None) -> dict[str, float]:
    from contrastkit.papers.clip.module import CLIP

    q = cfg["quick"] if quick else {}
    d = cfg["data"]["digits"]
    train = _digit_pairs("train", d["templates"], d["caption_seed"], q.get("n_train"))
    test = _digit_pairs("test", d["templates"], d["caption_seed"], q.get("n_test"))
    torch.manual_seed(seed)
    enc = _cnn(cfg["model"]["image_encoder"]["widths"])
    tr, m = cfg["trainer"], cfg["method"]
    common = dict(image_feature_dim=enc.feature_dim, embed_dim=cfg["model"]["embed_dim"],
                  init_temperature=m["init_temperature"], max_logit_scale=m["max_logit_scale"],
                  learn_temperature=m["learn_temperature"], batch_size=min(tr["batch_size"], len(train)),
                  lr=tr["lr"], weight_decay=tr["weight_decay"], seed=seed)
    if locked:
        assert bank is not None
        model = CLIP(enc, train.images, train.caption_ids, frozen_text=_lookup(bank, train.captions),
                     text_head=cfg["model"]["text_head"], **common)
        _fit(model, q.get("max_steps", tr["max_steps"]))
        prompts, numerals = _lookup(bank, test.class_prompts), _lookup(bank, test.extra["numeral_prompts"])
        captions = _lookup(bank, test.captions)
    else:
        tok, text_enc, tokens = _bow(train, cfg["model"]["text_embed_dim"], cfg["model"]["embed_dim"])
        model = CLIP(enc, train.images, train.caption_ids, text_encoder=text_enc, caption_tokens=tokens, **common)
        _fit(model, q.get("max_steps", tr["max_steps"]))
        with torch.no_grad():
            prompts = model.encode_tokens(tok.encode(test.class_prompts))
            numerals = model.encode_tokens(tok.encode(test.extra["numeral_prompts"]))
            captions = model.encode_tokens(tok.encode(test.captions))
    out = _two_tower_metrics(model, test, prompt_emb=prompts, caption_emb=captions,
                             extra_prompts={"numeral": numerals})
    out["final_temperature"] = float(model.logit_scale.temperature().detach())
    return out


def _train_clip_fashion(cfg: dict[str, Any], seed: int, quick: bool) -> dict[str, float]:
    from contrastkit.multimodal.data import fashion_image_text
    from contrastkit.multimodal.text import BagOfWordsEncoder, SimpleTokenizer
    from contrastkit.papers.clip.module import CLIP
    q = cfg["quick"] if quick else {}
    f = cfg["data"]["fashion"]
    (xtr, ytr), (xte, yte) = _fashion("train"), _fashion("test")
    itr = _subset(len(ytr), q.get("fashion_n_train", f["n_train"]), seed=f["subset_seed"])
    ite = _subset(len(yte), q.get("fashion_n_test", f["n_test"]), seed=f["subset_seed"])
    train = fashion_image_text(_to_float(xtr[itr]), ytr[itr], seed=f["caption_seed"])
    test = fashion_image_text(_to_float(xte[ite]), yte[ite], seed=f["caption_seed"])
    tok = SimpleTokenizer(train.captions + train.class_prompts)
    torch.manual_seed(seed)
    mcfg = cfg["model"]["fashion_image_encoder"]
    enc = _cnn(mcfg["widths"], pool_between=mcfg["pool_between"])
    text_enc = BagOfWordsEncoder(len(tok), cfg["model"]["text_embed_dim"], cfg["model"]["embed_dim"])
    tr, m = cfg["trainer"], cfg["method"]
    model = CLIP(enc, train.images, train.caption_ids, text_encoder=text_enc, caption_tokens=tok.encode(train.captions),
                 image_feature_dim=enc.feature_dim, embed_dim=cfg["model"]["embed_dim"],
                 init_temperature=m["init_temperature"], max_logit_scale=m["max_logit_scale"],
                 batch_size=min(tr["batch_size"], len(train)), lr=tr["lr"], seed=seed)
    _fit(model, q.get("max_steps", tr["max_steps"]))
    with torch.no_grad():
        prompts = model.encode_tokens(tok.encode(test.class_prompts))
        captions = model.encode_tokens(tok.encode(test.captions))
    return _two_tower_metrics(model, test, prompt_emb=prompts, caption_emb=captions)


def _fashion(split: str) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST as uint8 ``(n, 28, 28)`` and labels (the official split; the same files as
    :func:`contrastkit.vision.load_fashion_mnist`, subset before the float conversion)."""
    from contrastkit.vision.data import FASHION_MNIST_FILES, fashion_mnist_dir, read_idx

    folder = fashion_mnist_dir(download=False)
    img, lab = FASHION_MNIST_FILES[split]
    return torch.from_numpy(read_idx(folder / img).copy()), torch.from_numpy(read_idx(folder / lab).astype("int64"))


def _to_float(x: Tensor) -> Tensor:
    return (x.float() / 255.0).unsqueeze(1)


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """CLIP from scratch and LiT (locked MiniLM text tower) on digits-on-canvas captions; CLIP on
    Fashion-MNIST descriptions, over the recipe's seeds (``seeds`` overrides them).

    Precondition: LiT learns with the training prompt (else the unseen-prompt comparison says nothing).
    Claims (one-sided t-tests over seeds, thresholds in ``recipe.yaml``): CLIP's zero-shot accuracy on
    digits > 80 % and on Fashion-MNIST > 50 %; with numeral prompts never seen in training
    ("the digit 7"), LiT - CLIP > 20 points (paired per seed; a bag of words trained from scratch
    cannot read an unseen word, the pretrained tower can), with its power precondition."""
    torch.set_num_threads(1)
    cfg, lit_cfg = load_recipe("clip"), load_recipe("lit")
    bank = _digit_text_bank()
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in run_seeds(cfg, quick, seeds):
        for arm, fn in (("clip", lambda s: _train_clip_digits(cfg, s, quick, locked=False, bank=None)),
                        ("lit", lambda s: _train_clip_digits(lit_cfg, s, quick, locked=True, bank=bank)),
                        ("clip_fashion", lambda s: _train_clip_fashion(cfg, s, quick))):
            for k, v in fn(seed).items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    return decide(cfg, rows, quick)


def above(name: str, values: list[float], threshold: float, *, precondition: bool = False) -> Claim:
    """``mean(values) > threshold`` by a one-sided t-test (the paired test against a constant)."""
    test = paired_comparison(values, [threshold] * len(values))
    return Claim.from_test(f"{name} > {threshold:.0%}", test, scale=100, unit=" points",
                           precondition=precondition, note=f"effect = mean - threshold; measured {fmt(values, 100)}%")


def decide(cfg: dict[str, Any], rows: dict[str, dict[str, list[float]]], quick: bool) -> ReproResult:
    """Precondition and claims from per-seed metrics ``rows[arm][metric]`` (fractions)."""
    c = cfg["claims"]
    lit_zs = rows["lit"]["zero_shot"]
    num = paired(rows["lit"]["zero_shot_numeral"], rows["clip"]["zero_shot_numeral"], c["lit_numeral"])
    claims = [
        Claim("LiT learns with the training prompt", sum(lit_zs) / len(lit_zs) >= c["lit_zero_shot_min"],
              f"LiT zero-shot {fmt(lit_zs, 100)}% (min {c['lit_zero_shot_min']:.0%})", precondition=True),
        above("CLIP from scratch: digits zero-shot", rows["clip"]["zero_shot"], c["clip_digits"]["threshold"]),
        above("CLIP from scratch: Fashion-MNIST zero-shot", rows["clip_fashion"]["zero_shot"],
              c["clip_fashion"]["threshold"]),
        power_precondition("LiT - CLIP on unseen numeral prompts", num, c["lit_numeral"]["paper_effect"], scale=100,
                           unit=" points"),
        Claim.from_test(f"LiT beats CLIP on unseen numeral prompts by > {c['lit_numeral']['margin']:.0%}", num,
                        scale=100, unit=" points",
                        note=f"LiT {fmt(rows['lit']['zero_shot_numeral'], 100)}% vs CLIP "
                             f"{fmt(rows['clip']['zero_shot_numeral'], 100)}%"),
        Claim("LiT vs CLIP on the standard prompt (reported)", True,
              f"LiT {fmt(lit_zs, 100)}% vs CLIP {fmt(rows['clip']['zero_shot'], 100)}%", gating=False),
    ]
    return ReproResult("clip", gate(claims, quick), rows, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
