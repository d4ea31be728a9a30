"""Shared helpers of the image-text and vision reproductions (CLIP / LiT, CWCL, Fini et al., Hydra,
SepCLR, SupReMix): recipe loading (``papers/<name>/recipe.yaml``), digits-on-canvas data and caption
banks, small CNN towers, canvas augmentations, embedding and zero-shot metrics. ``quick=True`` runs are
smoke runs (1 seed, a few steps, data subsets) whose claims are reported, never gating.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from contrastkit import evaluate as ev
from contrastkit.papers._common import PAPERS_ROOT, read_recipe
from contrastkit.reproduce.result import fmt, mean_std
from contrastkit.training.fit import fit

RECIPES = PAPERS_ROOT  # papers/<name>/recipe.yaml


def load_recipe(name: str) -> dict[str, Any]:
    """The plain-data recipe ``recipes/<name>.yaml``."""
    return read_recipe(name, RECIPES)


def _seeds(quick: bool, seeds: Sequence[int]) -> list[int]:
    return [seeds[0]] if quick else list(seeds)


def _fit(module: L.LightningModule, steps: int) -> L.LightningModule:
    """``steps`` steps of :func:`contrastkit.training.fit` with the quiet CPU defaults; the module in eval mode."""
    return fit(module, max_steps=steps)


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

