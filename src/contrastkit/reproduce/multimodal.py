"""Image-text and vision miniatures of issue 4: CLIP / LiT, CWCL, Fini et al., Hydra, SepCLR, SupReMix.

Each function reads its recipe (``contrastkit/recipes/<name>.yaml``, plain data), trains small CPU
models with Lightning over seeds, evaluates frozen embeddings with :mod:`contrastkit.evaluate`, and
checks the claims with thresholds fixed in the recipe before any run. ``quick=True`` is a smoke run
(1 seed, a few steps, data subsets): its claims are reported, never gating. Measured figures:
docs/multimodal.md.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from contrastkit import evaluate as ev
from contrastkit.methods.batching import StepTicks
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


# ---------------------------------------------------------------------------------------------- helpers
def load_recipe(name: str) -> dict[str, Any]:
    """The plain-data recipe ``recipes/<name>.yaml``."""
    import yaml

    return yaml.safe_load((RECIPES / f"{name}.yaml").read_text())


def _seeds(quick: bool, seeds: Sequence[int]) -> list[int]:
    return [seeds[0]] if quick else list(seeds)


def _fit(module: L.LightningModule, steps: int) -> L.LightningModule:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*small batch size.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=steps, enable_checkpointing=False, logger=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, DataLoader(StepTicks(steps), batch_size=None, shuffle=False))
    return module.eval()


@torch.no_grad()
def _embed(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 512) -> Tensor:
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _subset(n: int, k: int | None, seed: int = 0) -> Tensor:
    if k is None or k >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def _digits_canvas(split: str) -> tuple[Tensor, Tensor]:
    from contrastkit.vision.data import load_digits_canvas

    s = load_digits_canvas(split)
    return s.images, s.labels


def _cnn(widths: Sequence[int], feature_dim: int | None = None, pool_between: bool = False) -> nn.Module:
    from contrastkit.vision.encoders import SmallCNN

    return SmallCNN(1, tuple(widths), feature_dim, pool_between=pool_between)


def _canvas_augment(max_shift: int, intensity: Sequence[float], noise_std: float,
                    erase_size: int | None = None) -> nn.Module:
    from contrastkit.vision.augment import (
        GaussianNoise,
        RandomCircularShift,
        RandomErase,
        RandomIntensity,
        SimCLRAugment,
    )

    parts: list[nn.Module] = [RandomCircularShift(max_shift), RandomIntensity(*intensity), GaussianNoise(noise_std)]
    if erase_size:
        parts.append(RandomErase(erase_size, p=0.5))
    return SimCLRAugment(parts)


def _table(rows: dict[str, list[float]], scale: float = 100.0, digits: int = 2) -> str:
    return "; ".join(f"{k}: {fmt(v, scale, digits)}" for k, v in rows.items())


def _mean(values: list[float]) -> float:
    return mean_std(values)[0]


# ------------------------------------------------------------------------------------------ text banks
DIGIT_SYNONYMS = {"photo": ["picture", "image"], "picture": ["photo", "image"], "image": ["photo", "picture"],
                  "number": ["digit", "numeral"], "digit": ["number", "numeral"], "handwritten": ["written", "drawn"],
                  "the": ["a"], "a": ["the"]}


def _digit_pairs(split: str, templates: int, seed: int, n: int | None) -> Any:
    from contrastkit.multimodal.data import DIGIT_TEMPLATES, DIGIT_TEMPLATES_8, digits_image_text

    images, labels = _digits_canvas(split)
    pairs = digits_image_text(images, labels, templates=DIGIT_TEMPLATES_8 if templates == 8 else DIGIT_TEMPLATES,
                              seed=seed, name=f"digits_canvas_captions/{split}")
    return pairs.subset(_subset(len(pairs), n))


def _bow(pairs: Any, embed_dim: int, out_dim: int) -> tuple[Any, nn.Module, Tensor]:
    from contrastkit.multimodal.text import BagOfWordsEncoder, SimpleTokenizer

    vocab_words = [w for alts in DIGIT_SYNONYMS.values() for w in alts]
    tok = SimpleTokenizer(pairs.captions + [" ".join(vocab_words)])
    return tok, BagOfWordsEncoder(len(tok), embed_dim, out_dim), tok.encode(pairs.captions)


def _frozen(texts: list[str]) -> Tensor:
    from contrastkit.multimodal.text import frozen_text_embeddings

    return frozen_text_embeddings(texts)


def _digit_text_bank() -> dict[str, Tensor]:
    """Frozen MiniLM embeddings of every digit caption, prompt and numeral prompt (one cached call)."""
    from contrastkit.multimodal.data import DIGIT_PROMPT, DIGIT_TEMPLATES_8, DIGIT_WORDS, template_captions

    texts = [c for caps in template_captions(DIGIT_WORDS, DIGIT_TEMPLATES_8) for c in caps]
    texts += [DIGIT_PROMPT.format(w=w) for w in DIGIT_WORDS] + [f"the digit {d}" for d in range(10)]
    texts = list(dict.fromkeys(texts))
    emb = _frozen(texts)
    return {t: emb[i] for i, t in enumerate(texts)}


def _lookup(bank: dict[str, Tensor], texts: list[str]) -> Tensor:
    return torch.stack([bank[t] for t in texts])


@torch.no_grad()
def _two_tower_metrics(model: Any, test: Any, *, prompt_emb: Tensor, caption_emb: Tensor,
                       extra_prompts: dict[str, Tensor] | None = None) -> dict[str, float]:
    from contrastkit.multimodal.evaluate import image_text_metrics

    model.eval()
    img = _embed(model.encode_image, test.images)
    out = image_text_metrics(img, test.labels, caption_emb, test.caption_labels, prompt_emb)
    for name, prompts in (extra_prompts or {}).items():
        out[f"zero_shot_{name}"] = ev.zero_shot_accuracy(img, prompts, test.labels)
    return out


# ------------------------------------------------------------------------------------------------ CLIP
def _train_clip_digits(cfg: dict[str, Any], seed: int, quick: bool, *, locked: bool,
                       bank: dict[str, Tensor] | None) -> dict[str, float]:
    from contrastkit.methods.clip import CLIP

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
    from contrastkit.methods.clip import CLIP
    from contrastkit.multimodal.data import fashion_image_text
    from contrastkit.multimodal.text import BagOfWordsEncoder, SimpleTokenizer
    q = cfg["quick"] if quick else {}
    f = cfg["data"]["fashion"]
    (xtr, ytr), (xte, yte) = _fashion("train"), _fashion("test")
    itr = _subset(len(ytr), q.get("fashion_n_train", f["n_train"]), seed=0)
    ite = _subset(len(yte), q.get("fashion_n_test", f["n_test"]), seed=0)
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


def clip(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """CLIP from scratch and LiT (locked MiniLM text tower) on digits-on-canvas captions; CLIP on
    Fashion-MNIST descriptions. Claims (thresholds in recipes/clip.yaml): CLIP's zero-shot accuracy
    on digits >= 80% and on Fashion-MNIST >= 50%; with numeral prompts never seen in training
    ("the digit 7"), LiT's zero-shot accuracy >= CLIP's + 20 points (a bag of words trained from
    scratch cannot read an unseen word; the pretrained tower can)."""
    torch.set_num_threads(1)
    cfg, lit_cfg = load_recipe("clip"), load_recipe("lit")
    bank = _digit_text_bank()
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in _seeds(quick, seeds):
        for arm, fn in (("clip", lambda s: _train_clip_digits(cfg, s, quick, locked=False, bank=None)),
                        ("lit", lambda s: _train_clip_digits(lit_cfg, s, quick, locked=True, bank=bank)),
                        ("clip_fashion", lambda s: _train_clip_fashion(cfg, s, quick))):
            for k, v in fn(seed).items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    c = cfg["claims"]
    zs, fz = rows["clip"]["zero_shot"], rows["clip_fashion"]["zero_shot"]
    num_gain = _mean(rows["lit"]["zero_shot_numeral"]) - _mean(rows["clip"]["zero_shot_numeral"])
    gate = not quick
    claims = [
        Claim(f"CLIP from scratch: digits zero-shot >= {c['clip_zero_shot_min']:.0%}",
              _mean(zs) >= c["clip_zero_shot_min"], f"zero-shot {fmt(zs, 100)}%", gating=gate),
        Claim(f"CLIP from scratch: Fashion-MNIST zero-shot >= {c['fashion_zero_shot_min']:.0%}",
              _mean(fz) >= c["fashion_zero_shot_min"], f"zero-shot {fmt(fz, 100)}%", gating=gate),
        Claim(f"LiT transfers to unseen numeral prompts: LiT >= CLIP + {c['lit_numeral_gain_min'] * 100:.0f} points",
              num_gain >= c["lit_numeral_gain_min"],
              f"LiT {fmt(rows['lit']['zero_shot_numeral'], 100)}% vs "
              f"CLIP {fmt(rows['clip']['zero_shot_numeral'], 100)}%",
              gating=gate),
        Claim("LiT vs CLIP on the standard prompt (reported)", True,
              f"LiT {fmt(rows['lit']['zero_shot'], 100)}% vs CLIP {fmt(zs, 100)}%", gating=False),
    ]
    return ReproResult("clip", claims, rows, quick)


# ------------------------------------------------------------------------------------------------ CWCL
def cwcl(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """CWCL vs InfoNCE with the frozen MiniLM text tower (papers-1.md §9). Claim: CWCL's zero-shot
    accuracy >= InfoNCE's (3-seed means). Not gating: the notes' calibration found no gap at this
    scale (the MiniLM cosines crowd into a narrow band, so the weights are nearly flat); the
    sharpened-weight probe is reported next to it."""
    from contrastkit.methods.clip import CLIP

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


# ------------------------------------------------------------------------------------------------ Fini
def _fini_run(cfg: dict[str, Any], recipe: str, aux: str, seed: int, quick: bool, train: Any, test: Any) -> float:
    from contrastkit.methods.fini import ImprovedCLIP
    from contrastkit.multimodal.text import TokenAugment

    q = cfg["quick"] if quick else {}
    r = cfg["recipes"][recipe]
    a = cfg["augment"]
    torch.manual_seed(seed)
    enc = _cnn(cfg["model"]["image_encoder"]["widths"])
    tok, text_enc, tokens = _bow(train, cfg["model"]["text_embed_dim"], cfg["model"]["embed_dim"])
    weak = _canvas_augment(a["weak"]["max_shift"], a["weak"]["intensity"], a["weak"]["noise_std"])
    strong = _canvas_augment(a["strong"]["max_shift"], a["strong"]["intensity"], a["strong"]["noise_std"],
                             a["strong"]["erase_size"])
    text_aug = TokenAugment(tok, p_delete=a["text"]["p_delete"], p_synonym=a["text"]["p_synonym"],
                            synonyms=DIGIT_SYNONYMS)
    tr, m = cfg["trainer"], cfg["method"]
    aux_terms = {} if aux == "clip" else {aux: cfg["aux_weights"][aux]}
    model = ImprovedCLIP(enc, train.images, train.caption_ids, text_encoder=text_enc, caption_tokens=tokens,
                         image_feature_dim=enc.feature_dim, embed_dim=cfg["model"]["embed_dim"],
                         image_augment=weak if r["augment"] else None,
                         text_augment=text_aug if r["text_augment"] else None,
                         label_smoothing=r["label_smoothing"], n_local_views=r["n_local_views"],
                         local_augment=strong, local_label_smoothing=r.get("local_label_smoothing", 0.0),
                         local_init_temperature=r.get("local_init_temperature", 0.1),
                         aux=aux_terms, aux_dim=cfg["model"]["aux_dim"], aux_hidden=cfg["model"]["aux_hidden"],
                         init_temperature=m["init_temperature"], max_logit_scale=m["max_logit_scale"],
                         batch_size=min(tr["batch_size"], len(train)), lr=tr["lr"], seed=seed)
    _fit(model, q.get("max_steps", tr["max_steps"]))
    with torch.no_grad():
        img = _embed(model.encode_image, test.images)
        prompts = model.encode_tokens(tok.encode(test.class_prompts))
    return ev.zero_shot_accuracy(img, prompts, test.labels)


def fini(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """Fini et al. (TMLR 2023) in miniature: basic vs improved (CLIP-rocket) recipe x {CLIP, CLIP + SSL
    term}, zero-shot accuracy on test digits. Claim (gating, from the issue): the recipe's gain over
    basic CLIP >= the largest gain of an auxiliary SSL term under the basic recipe (3-seed means).
    Reported: the notes' sub-claims (an aux term helps the basic recipe by >= 1 point; under the
    rocket recipe the best aux term is within 1 point of CLIP-rocket; the recipe gains >= 3 points)."""
    torch.set_num_threads(1)
    cfg = load_recipe("fini")
    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    train = _digit_pairs("train", d["templates"], d["caption_seed"], q.get("n_train", d["n_train"]))
    test = _digit_pairs("test", d["templates"], d["caption_seed"], q.get("n_test"))
    arms = q.get("arms", cfg["arms"])
    acc: dict[str, list[float]] = {}
    for seed in _seeds(quick, seeds):
        for recipe, terms in arms.items():
            for aux in terms:
                acc.setdefault(f"{recipe}_{aux}", []).append(_fini_run(cfg, recipe, aux, seed, quick, train, test))
    mean = {k: _mean(v) for k, v in acc.items()}
    base = mean["basic_clip"]
    aux_gains = {k: v - base for k, v in mean.items() if k.startswith("basic_") and k != "basic_clip"}
    best_aux = max(aux_gains, key=aux_gains.get) if aux_gains else "none"
    best_gain = aux_gains.get(best_aux, 0.0)
    recipe_gain = mean["rocket_clip"] - base
    rocket_aux = [v for k, v in mean.items() if k.startswith("rocket_") and k != "rocket_clip"]
    claims = [
        Claim("recipe gain (CLIP-rocket - basic CLIP) >= best aux-term gain under the basic recipe",
              recipe_gain >= best_gain,
              f"recipe {recipe_gain * 100:+.2f} points vs best aux ({best_aux}) {best_gain * 100:+.2f} points",
              gating=not quick),
        Claim("basic recipe: an aux term beats CLIP by >= 1 point (notes)", best_gain >= 0.01,
              f"best {best_aux} {best_gain * 100:+.2f} points", gating=False),
        Claim("rocket recipe: best aux term within 1 point of CLIP-rocket (notes)",
              bool(rocket_aux) and abs(max(rocket_aux) - mean["rocket_clip"]) <= 0.01,
              f"best rocket aux {max(rocket_aux, default=float('nan')) * 100:.2f}% vs CLIP-rocket "
              f"{mean['rocket_clip'] * 100:.2f}%", gating=False),
        Claim("CLIP-rocket >= basic CLIP + 3 points (notes)", recipe_gain >= 0.03,
              f"{recipe_gain * 100:+.2f} points", gating=False),
        Claim("all arms (zero-shot %, reported)", True, _table(acc), gating=False),
    ]
    return ReproResult("fini", claims, {"zero_shot": acc}, quick)


# ----------------------------------------------------------------------------------------------- Hydra
def hydra(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """Hydra / SimLAP (papers-1.md §6): SupCon with arbitrary class pairs as positives loses linear-probe
    accuracy, the gated loss keeps it. Claims (gating): hydra_arbitrary >= supcon_arbitrary + 2 points
    and >= supcon - 2 points (3-seed means of backbone linear-probe accuracy); effective rank reported."""
    from contrastkit.methods.hydra import HydraContrastive
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


# ---------------------------------------------------------------------------------------------- SepCLR
def digits_on_gratings(images8: Tensor, labels: Tensor, *, n_gratings: int = 5, cycles: float = 3.0,
                       background: Tensor | None = None, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """16x16 contrastive-analysis images: ``0.5 * grating (+ 0.5 * digit on target rows)``.

    Grating class ``g`` is a sinusoid of orientation ``g * 180 / n_gratings`` degrees and ``cycles``
    periods per image, with a uniformly random phase per image (seeded); the digit is the 8x8 image
    upsampled 2x. Returns ``(images (n, 1, 16, 16), grating_labels, is_target)``.
    """
    n = images8.shape[0]
    g = torch.Generator().manual_seed(seed)
    grating = torch.randint(0, n_gratings, (n,), generator=g)
    phase = torch.rand(n, generator=g) * 2 * math.pi
    theta = grating.float() * math.pi / n_gratings
    coords = torch.arange(16, dtype=torch.float32) / 16
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    proj = xx[None] * torch.cos(theta)[:, None, None] + yy[None] * torch.sin(theta)[:, None, None]
    wave = 0.5 + 0.5 * torch.sin(2 * math.pi * cycles * proj + phase[:, None, None])
    digit = images8.reshape(n, 8, 8).repeat_interleave(2, 1).repeat_interleave(2, 2)
    is_target = torch.ones(n, dtype=torch.bool) if background is None else ~background
    out = 0.5 * wave + 0.5 * digit * is_target[:, None, None].float()
    return out.unsqueeze(1), grating, is_target


def sepclr(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """SepCLR (papers-1.md §5) on digits-on-gratings. Leakage of salient information (the digit) into
    the common space = digit linear-probe accuracy on the common backbone, target test images.
    Claim (gating): SepCLR's leakage < both baselines' (no k-JEM; common term only = plain
    alignment/uniformity contrastive learning). Reported: the notes' probe thresholds."""
    from contrastkit.losses.sepclr import SepCLR
    from contrastkit.methods.sepclr import SepCLRModel
    from contrastkit.vision.data import load_digits

    torch.set_num_threads(1)
    cfg = load_recipe("sepclr")
    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    tr_split, te_split = load_digits("train"), load_digits("test")
    itr, ite = _subset(len(tr_split), q.get("n_train")), _subset(len(te_split), q.get("n_test"))
    gb = torch.Generator().manual_seed(d["seed"])
    background = torch.rand(len(itr), generator=gb) < d["background_fraction"]
    xtr, gtr, ttr = digits_on_gratings(tr_split.images[itr], tr_split.labels[itr], n_gratings=d["n_gratings"],
                                       cycles=d["cycles"], background=background, seed=d["seed"])
    xte, gte, _ = digits_on_gratings(te_split.images[ite], te_split.labels[ite], n_gratings=d["n_gratings"],
                                     cycles=d["cycles"], seed=d["seed"] + 1)
    ytr, yte = tr_split.labels[itr], te_split.labels[ite]
    a, tr, mc = cfg["augment"], cfg["trainer"], cfg["model"]
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in _seeds(quick, seeds):
        for arm, w in cfg["arms"].items():
            torch.manual_seed(seed)
            ce = _cnn(mc["encoder"]["widths"], mc["encoder"]["feature_dim"])
            se = _cnn(mc["encoder"]["widths"], mc["encoder"]["feature_dim"])
            dim = mc["encoder"]["feature_dim"]
            model = SepCLRModel(ce, se, dim, dim, _canvas_augment(a["max_shift"], a["intensity"], a["noise_std"]),
                                xtr, ttr, loss=SepCLR(w["beta_salient"], w["beta_reg"], w["lambda_jem"]),
                                batch_size=min(q.get("batch_size", tr["batch_size"]), len(xtr)), lr=tr["lr"],
                                seed=seed)
            _fit(model, q.get("max_steps", tr["max_steps"]))
            out = {}
            for space, fn in (("c", model.common_features), ("s", model.salient_features)):
                htr, hte = _embed(fn, xtr[ttr]), _embed(fn, xte)
                out[f"digit_on_{space}"] = ev.linear_probe(htr, ytr[ttr], hte, yte, seed=seed)
                out[f"grating_on_{space}"] = ev.linear_probe(htr, gtr[ttr], hte, gte, seed=seed)
            for k, v in out.items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    leak = {arm: r["digit_on_c"] for arm, r in rows.items()}
    m = {k: _mean(v) for k, v in leak.items()}
    s = rows["sepclr"]
    claims = [
        Claim("less salient (digit) leakage into the common space than no-k-JEM and common-only baselines",
              m["sepclr"] < m["no_jem"] and m["sepclr"] < m["common_only"],
              "digit accuracy on c: " + _table(leak), gating=not quick),
        Claim("notes: digit on s >= 85%, digit on c <= 40%, grating on c >= 85%, grating on s <= 40%",
              _mean(s["digit_on_s"]) >= 0.85 and _mean(s["digit_on_c"]) <= 0.40
              and _mean(s["grating_on_c"]) >= 0.85 and _mean(s["grating_on_s"]) <= 0.40,
              "; ".join(f"{k} {fmt(v, 100)}%" for k, v in s.items()), gating=False),
        Claim("notes: lambda_J = 0 raises grating accuracy on s by >= 10 points",
              _mean(rows["no_jem"]["grating_on_s"]) >= _mean(s["grating_on_s"]) + 0.10,
              f"no k-JEM {fmt(rows['no_jem']['grating_on_s'], 100)}% vs SepCLR {fmt(s['grating_on_s'], 100)}%",
              gating=False),
    ]
    return ReproResult("sepclr", claims, rows, quick)


# -------------------------------------------------------------------------------------------- SupReMix
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


def _ridge_mae(htr: Tensor, ytr: Tensor, hte: Tensor, yte: Tensor) -> float:
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(htr.double().numpy())
    reg = RidgeCV(alphas=(0.01, 0.1, 1.0, 10.0, 100.0)).fit(sc.transform(htr.double().numpy()), ytr.numpy())
    pred = torch.from_numpy(reg.predict(sc.transform(hte.double().numpy())))
    return float((pred - yte.double()).abs().mean())


def _distance_spearman(h: Tensor, y: Tensor) -> float:
    from scipy.stats import spearmanr

    z = F.normalize(h, dim=1)
    i, j = torch.triu_indices(len(y), len(y), 1)
    dist = (z[i] - z[j]).norm(dim=1)
    return float(spearmanr(dist.numpy(), (y[i] - y[j]).abs().numpy()).statistic)


def supremix(quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> ReproResult:
    """SupReMix (papers-1.md §12) on rotated real digits: ridge-probe MAE of the angle on frozen backbone
    features. Claim (gating): SupReMix MAE <= SupCon-on-10-bins MAE and <= L1-regression MAE (3-seed
    means). Reported: Spearman correlation of embedding distance with |Δy| (SupReMix > SupCon)."""
    from contrastkit.methods.supremix import ContrastiveRegression
    from contrastkit.vision.data import load_digits
    from contrastkit.vision.encoders import ProjectionHead

    torch.set_num_threads(1)
    cfg = load_recipe("supremix")
    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    tr_split, te_split = load_digits("train"), load_digits("test")
    xtr, ytr = rotated_digits(tr_split.images, max_angle=d["max_angle"], copies=d["copies"], seed=d["seed"])
    xte, yte = rotated_digits(te_split.images, max_angle=d["max_angle"], copies=1, seed=d["seed"] + 1)
    itr, ite = _subset(len(ytr), q.get("n_train")), _subset(len(yte), q.get("n_test"))
    xtr, ytr, xte, yte = xtr[itr], ytr[itr], xte[ite], yte[ite]
    a, tr, mc = cfg["augment"], cfg["trainer"], cfg["model"]
    rows: dict[str, dict[str, list[float]]] = {}
    degrees = 2 * d["max_angle"]
    for seed in _seeds(quick, seeds):
        for arm, spec in cfg["arms"].items():
            torch.manual_seed(seed)
            enc = _cnn(mc["encoder"]["widths"])
            proj = ProjectionHead(enc.feature_dim, mc["projector_hidden"], mc["projector_out"])
            kwargs = copy.deepcopy(spec.get("loss_kwargs", {}))
            if "beta" in kwargs:
                kwargs["beta"] = tuple(kwargs["beta"])
            model = ContrastiveRegression(enc, proj, enc.feature_dim,
                                          _canvas_augment(a["max_shift"], a["intensity"], a["noise_std"]), xtr, ytr,
                                          objective=spec["objective"], loss_kwargs=kwargs,
                                          num_bins=spec.get("num_bins", 10), batch_size=tr["batch_size"],
                                          lr=tr["lr"], seed=seed)
            start = time.perf_counter()
            _fit(model, q.get("max_steps", tr["max_steps"]))
            htr, hte = _embed(model.encoder, xtr), _embed(model.encoder, xte)
            out = {"probe_mae_degrees": _ridge_mae(htr, ytr, hte, yte) * degrees,
                   "distance_spearman": _distance_spearman(hte, yte),
                   "train_seconds": time.perf_counter() - start}
            if model.head is not None:
                with torch.no_grad():
                    out["head_mae_degrees"] = float((model.head(hte).squeeze(1) - yte).abs().mean()) * degrees
            for k, v in out.items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    mae = {arm: r["probe_mae_degrees"] for arm, r in rows.items()}
    m = {k: _mean(v) for k, v in mae.items()}
    sp = {arm: r["distance_spearman"] for arm, r in rows.items()}
    claims = [
        Claim("SupReMix probe MAE <= SupCon (binned) and <= L1 regression",
              m["supremix"] <= m["supcon"] and m["supremix"] <= m["l1"],
              "MAE (degrees): " + _table(mae, 1.0, 2), gating=not quick),
        Claim("SupReMix embedding distances track |Δy| better than SupCon (Spearman)",
              _mean(sp["supremix"]) > _mean(sp["supcon"]), _table(sp, 1.0, 3), gating=False),
    ]
    return ReproResult("supremix", claims, rows, quick)


__all__ = ["clip", "cwcl", "digits_on_gratings", "fini", "hydra", "load_recipe", "rotated_digits", "sepclr",
           "supremix"]
