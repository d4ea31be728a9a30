"""CleanCLIP (Bansal et al., ICCV 2023, "CleanCLIP: Mitigating Data Poisoning Attacks in Multimodal
Contrastive Learning") in miniature.

A mini-CLIP is pre-trained from scratch on digit image-caption pairs of which a share is poisoned
(:func:`contrastkit.backdoor.poison_image_text`: patch trigger + a caption of the target word). The
defender fine-tunes the poisoned checkpoint on a small clean set with (a) CLIP's loss alone and (b)
CleanCLIP's CLIP + in-modal objective. Metrics: zero-shot clean accuracy on the test digits and ASR
of the triggered non-target test digits (:func:`contrastkit.backdoor.zero_shot_backdoor`).

Precondition: the poisoned model's ASR >= the recipe's minimum. Claims (paired over seeds):
CleanCLIP's ASR is more than 15 points below CLIP-only fine-tuning; its clean accuracy is at most
2 points below the poisoned model's.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.papers._claims import gate, load_recipe, main, mean_precondition, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


@dataclass
class DigitPairs:
    """The miniature's data: the attacker's poisoned pre-training pairs, the defender's clean pairs, the test set."""

    pretrain_images: Tensor
    pretrain_caption_ids: Tensor
    poisoned: Tensor
    clean_images: Tensor
    clean_caption_ids: Tensor
    test_images: Tensor
    test_labels: Tensor
    captions: list[str]
    class_prompts: list[str]
    tokenizer: Any
    caption_tokens: Tensor
    prompt_tokens: Tensor
    trigger: nn.Module
    target: int
    clean_labels: Tensor | None = None  # classes of the defender's clean pairs


def _upsample(x: Tensor, factor: int) -> Tensor:
    return F.interpolate(x, scale_factor=factor, mode="nearest") if factor > 1 else x


def build_data(cfg: dict[str, Any], seed: int) -> DigitPairs:
    """Digits (upsampled), captions, the defender's held-out clean pairs and the poisoned rest
    (``attack.rate: 0``: the rest unpoisoned, a clean victim of the same design)."""
    from contrastkit.backdoor import PatchTrigger, poison_image_text, target_captions
    from contrastkit.multimodal.data import DIGIT_TEMPLATES, digits_image_text
    from contrastkit.papers._multimodal import _bow
    from contrastkit.vision.data import load_digits

    d, a = cfg["data"], cfg["attack"]
    tr, te = load_digits("train"), load_digits("test")
    pairs = digits_image_text(_upsample(tr.images, d["upsample"]), tr.labels, seed=d["caption_seed"] + seed)
    perm = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(d["split_seed"] + seed))
    clean = pairs.subset(perm[:d["defender_clean"]].sort().values)
    rest = pairs.subset(perm[d["defender_clean"]:].sort().values)
    t = a["trigger"]
    trigger = PatchTrigger(t["size"], t["location"], t["pattern"])
    targets = target_captions(DIGIT_TEMPLATES, a["target_word"])
    if a["rate"] == 0:  # a clean victim of the same design (the false-positive control of a backdoor audit)
        images, captions, mask = rest.images, rest.texts(), torch.zeros(len(rest.images), dtype=torch.bool)
    else:
        poisoned = poison_image_text(rest.images, rest.texts(), trigger, a["rate"], target_captions=targets,
                                     labels=rest.labels, target=a["target"], seed=seed)
        images, captions, mask = poisoned.images, poisoned.captions, poisoned.poisoned
    row = {c: i for i, c in enumerate(pairs.captions)}
    tok, _, tokens = _bow(pairs, 8, 8)
    return DigitPairs(images, torch.tensor([row[c] for c in captions]), mask,
                      clean.images, clean.caption_ids, _upsample(te.images, d["upsample"]), te.labels,
                      pairs.captions, pairs.class_prompts, tok, tokens, tok.encode(pairs.class_prompts),
                      trigger, int(a["target"]), clean.labels)


def _text_encoder(data: DigitPairs, cfg: dict[str, Any]) -> nn.Module:
    from contrastkit.multimodal.text import BagOfWordsEncoder

    m = cfg["model"]
    return BagOfWordsEncoder(len(data.tokenizer), m["text_dim"], m["embed_dim"])


def _steps(n: int, epochs: int, batch: int) -> int:
    return max(1, epochs * -(-n // batch))


def train_poisoned_clip(cfg: dict[str, Any] | None = None, seed: int = 0, quick: bool = False,
                        data: DigitPairs | None = None) -> tuple[Any, DigitPairs]:
    """Pre-train the mini-CLIP on the poisoned pairs; returns ``(model, data)``.

    ``model`` is a trained :class:`~contrastkit.papers.clip.module.CLIP` (``encode_image``,
    ``encode_tokens``; ``contrastkit.pretrained.save_pretrained(model, folder)`` writes its towers);
    ``data`` holds the trigger, the target class, the test set and the defender's clean pairs.
    """
    from contrastkit.papers._multimodal import _cnn, _fit
    from contrastkit.papers.clip.module import CLIP

    cfg = load_recipe(RECIPE) if cfg is None else cfg
    data = build_data(cfg, seed) if data is None else data
    m, p = cfg["model"], cfg["pretrain"]
    epochs = cfg["quick"]["pretrain_epochs"] if quick else p["epochs"]
    torch.manual_seed(seed)
    enc = _cnn(m["widths"], pool_between=True)
    model = CLIP(enc, data.pretrain_images, data.pretrain_caption_ids, image_feature_dim=enc.feature_dim,
                 embed_dim=m["embed_dim"], text_encoder=_text_encoder(data, cfg), caption_tokens=data.caption_tokens,
                 init_temperature=m["init_temperature"], max_logit_scale=m["max_logit_scale"],
                 batch_size=p["batch_size"], lr=p["lr"], seed=seed)
    _fit(model, _steps(len(data.pretrain_images), epochs, p["batch_size"]))
    return model.eval(), data


def _inmodal_augment(spec: dict[str, Any]) -> nn.Module:
    from contrastkit.vision.augment import (
        GaussianNoise,
        RandomCircularShift,
        RandomErase,
        RandomResizedCrop,
        SimCLRAugment,
    )

    return SimCLRAugment([RandomResizedCrop(None, tuple(spec["crop_scale"])), RandomCircularShift(spec["max_shift"]),
                          GaussianNoise(spec["noise_std"]), RandomErase(spec["erase_size"], p=spec["erase_p"])])


def finetune(poisoned: Any, data: DigitPairs, cfg: dict[str, Any], arm: str, seed: int, quick: bool = False) -> Any:
    """Fine-tune a copy of the poisoned model on the defender's clean pairs with the arm's weights."""
    from contrastkit.multimodal.text import TokenAugment
    from contrastkit.papers._multimodal import DIGIT_SYNONYMS, _fit
    from contrastkit.papers.cleanclip.module import CleanCLIP, copy_towers

    m, f, w = cfg["model"], cfg["finetune"], cfg["arms"][arm]
    epochs = cfg["quick"]["finetune_epochs"] if quick else f["epochs"]
    ta = f["text_augment"]
    model = CleanCLIP(copy.deepcopy(poisoned.image_encoder), data.clean_images, data.clean_caption_ids,
                      image_feature_dim=poisoned.image_encoder.feature_dim, embed_dim=m["embed_dim"],
                      text_encoder=copy.deepcopy(poisoned.text_encoder), caption_tokens=data.caption_tokens,
                      text_augment=TokenAugment(data.tokenizer, p_delete=ta["p_delete"], p_synonym=ta["p_synonym"],
                                                synonyms=DIGIT_SYNONYMS),
                      inmodal_augment=_inmodal_augment(f["image_augment"]), clip_weight=w["clip_weight"],
                      inmodal_weight=w["inmodal_weight"], init_temperature=m["init_temperature"],
                      max_logit_scale=m["max_logit_scale"], batch_size=f["batch_size"], lr=f["lr"], seed=seed + 100)
    copy_towers(poisoned, model)
    _fit(model, _steps(len(data.clean_images), epochs, f["batch_size"]))
    return model.eval()


@torch.no_grad()
def evaluate(model: Any, data: DigitPairs) -> dict[str, float]:
    """Zero-shot clean accuracy and ASR on the test digits."""
    from contrastkit.backdoor import zero_shot_backdoor
    from contrastkit.papers._multimodal import _embed

    model.eval()
    prompts = model.encode_tokens(data.prompt_tokens)
    clean = _embed(model.encode_image, data.test_images)
    trig = _embed(model.encode_image, data.trigger(data.test_images))
    return zero_shot_backdoor(clean, trig, prompts, data.test_labels, data.target)


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Pre-train a poisoned mini-CLIP per seed, fine-tune it with each arm, decide the claims."""
    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    ca: dict[str, list[float]] = {"poisoned": [], **{arm: [] for arm in cfg["arms"]}}
    asr: dict[str, list[float]] = {k: [] for k in ca}
    for seed in seeds:
        poisoned, data = train_poisoned_clip(cfg, seed, quick)
        for arm, model in [("poisoned", poisoned)] + [(a, finetune(poisoned, data, cfg, a, seed, quick))
                                                        for a in cfg["arms"]]:
            r = evaluate(model, data)
            ca[arm].append(r["clean_accuracy"])
            asr[arm].append(r["asr"])
    return decide(cfg, ca, asr, quick)


def decide(cfg: dict[str, Any], ca: dict[str, list[float]], asr: dict[str, list[float]], quick: bool) -> ReproResult:
    """Precondition and claims from per-seed clean accuracy ``ca[arm]`` and ``asr[arm]`` (fractions)."""
    c = cfg["claims"]
    reduction = paired(asr["clip_ft"], asr["cleanclip"], c["asr_reduction"])
    keep = paired(ca["cleanclip"], ca["poisoned"], c["clean_accuracy"])
    claims = [
        mean_precondition("the poisoned mini-CLIP has the backdoor (mean ASR)", asr["poisoned"],
                          c["poisoned_asr_min"], "ASR"),
        power_precondition("CLIP-only FT ASR - CleanCLIP ASR", reduction, c["asr_reduction"]["paper_effect"],
                           scale=100, unit=" points", guards="CleanCLIP ASR >= 15 points below CLIP-only fine-tuning"),
        Claim.from_test("CleanCLIP ASR >= 15 points below CLIP-only fine-tuning", reduction, scale=100,
                        unit=" points", note=f"CleanCLIP {fmt(asr['cleanclip'], 100)}% vs CLIP-only FT "
                        f"{fmt(asr['clip_ft'], 100)}% (poisoned {fmt(asr['poisoned'], 100)}%)"),
        Claim.from_test("CleanCLIP clean accuracy within 2 points of the poisoned model", keep, scale=100,
                        unit=" points", note=f"CleanCLIP {fmt(ca['cleanclip'], 100)}% vs poisoned "
                        f"{fmt(ca['poisoned'], 100)}% (CLIP-only FT {fmt(ca['clip_ft'], 100)}%)"),
    ]
    return ReproResult("cleanclip", gate(claims, quick), {"clean_accuracy": ca, "asr": asr}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
