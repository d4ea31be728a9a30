"""Shared pieces of the sentence-embedding reproductions (SimCSE, DebCSE): a MiniLM whose top layers are
fine-tuned over cached lower-layer states, the Lee background training sentences, Lee-corpus evaluation
(Spearman against the human 50 x 50 similarities and a length-bias measure), and recipe loading.

Fine-tuning all six layers of MiniLM costs seconds per step on a shared CPU; freezing the lower layers
and caching their (eval-mode, dropout-free) token states makes a step a few tens of milliseconds, while
the trained layers keep their dropout, which is what SimCSE's positives are made of.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor, nn

from contrastkit.papers._common import read_recipe
from contrastkit.papers._schema import _merge
from contrastkit.text import moe


def load_text_recipe(name: str, quick: bool) -> dict[str, Any]:
    """``papers/<name>/recipe.yaml`` (bounded safe loader), with its ``quick`` section merged over it when
    ``quick``."""
    recipe = read_recipe(name)
    return _merge(recipe, recipe.get("quick", {})) if quick else recipe


def background_sentences(n: int, *, min_words: int = 5, max_words: int = 40, seed: int = 0) -> list[str]:
    """``n`` sentences of the Lee background corpus (split at ``.!?`` + space), ``min_words..max_words``
    words, deduplicated, a seeded random subset (``seed``) in a fixed order."""
    from contrastkit.text import corpora

    seen: dict[str, None] = {}
    for doc in corpora.lee_background():
        for s in re.split(r"(?<=[.!?])\s+", doc):
            if min_words <= len(s.split()) <= max_words:
                seen.setdefault(s.strip(), None)
    pool = list(seen)
    if n > len(pool):
        raise ValueError(f"n: the Lee background corpus has {len(pool)} such sentences, asked for {n}")
    idx = np.random.default_rng(seed).permutation(len(pool))[:n]
    return [pool[i] for i in sorted(idx)]


class TopLayers(moe.TopLayers):
    """A trainable copy of the top ``k`` transformer layers of a BERT-style ``TextEncoder`` + mean pooling.

    :class:`contrastkit.text.moe.TopLayers` with the papers' ``k`` argument. ``forward(states, mask) -> (n, d)``:
    ``states`` ``(n, L, d)`` are the encoder's hidden states *below* those layers (:func:`lower_states`),
    ``mask`` ``(n, L)`` the attention mask. Dropout is active in train mode (two forwards differ: SimCSE's
    views) and off in eval mode (two forwards agree). With untouched weights, eval-mode output equals
    ``encoder.forward`` (mean pooling, not normalised).
    """

    def __init__(self, encoder: Any, k: int) -> None:
        layers = getattr(getattr(encoder.model, "encoder", None), "layer", None)
        if layers is None or not 1 <= k <= len(layers):
            raise ValueError(f"k: expected 1..{0 if layers is None else len(layers)} top layers of a BERT-style "
                             "encoder (model.encoder.layer)")
        super().__init__(encoder, n_top=k)
        self.k = k


@torch.no_grad()
def lower_states(encoder: Any, texts: list[str], k: int, *, max_length: int,
                 batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """Hidden states ``(n, L, d)`` below the top ``k`` layers (eval mode, no dropout) and the attention mask
    ``(n, L)``, padded to the longest text (at most ``max_length`` tokens)."""
    tok = encoder.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    encoder.eval()
    out = []
    for s in range(0, len(texts), batch_size):
        ids, m = tok["input_ids"][s:s + batch_size], tok["attention_mask"][s:s + batch_size]
        hidden = encoder.model(input_ids=ids, attention_mask=m, output_hidden_states=True).hidden_states
        out.append(hidden[-(k + 1)])
    return torch.cat(out), tok["attention_mask"]


@torch.no_grad()
def embed(top: TopLayers, states: Tensor, mask: Tensor, batch_size: int = 64) -> Tensor:
    """Eval-mode embeddings ``(n, d)`` of cached states (the previous train/eval mode is restored)."""
    was = top.training
    top.eval()
    try:
        return torch.cat([top(states[s:s + batch_size], mask[s:s + batch_size])
                          for s in range(0, states.shape[0], batch_size)])
    finally:
        top.train(was)


def pair_values(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle ``i < j`` of a square matrix, row-major."""
    iu = np.triu_indices(matrix.shape[0], k=1)
    return np.asarray(matrix)[iu]


def length_bias(emb: Tensor, lengths: np.ndarray) -> float:
    """Spearman's rho between ``cos(e_i, e_j)`` and ``-|len_i - len_j|`` over all pairs ``i < j``: how far
    similarity follows length similarity (0 = not at all). Compare with the human judgements' own value."""
    u = nn.functional.normalize(emb.double(), dim=1).numpy()
    diff = -np.abs(np.subtract.outer(lengths, lengths).astype(float))
    return float(stats.spearmanr(pair_values(u @ u.T), pair_values(diff)).statistic)


def human_length_bias(human: np.ndarray, lengths: np.ndarray) -> float:
    """:func:`length_bias` of the human similarity matrix itself (the length signal the judges carry)."""
    diff = -np.abs(np.subtract.outer(lengths, lengths).astype(float))
    return float(stats.spearmanr(pair_values(human), pair_values(diff)).statistic)


__all__ = ["TopLayers", "background_sentences", "embed", "human_length_bias", "length_bias", "load_text_recipe",
           "lower_states", "pair_values"]


PairFn = Any  # (anchor_idx (B,), generator) -> (positive_idx (B,) | None, negative_idx (B,) | None)


def train_top_layers(top: TopLayers, states: Tensor, mask: Tensor, pairs: PairFn, *, steps: int, batch_size: int,
                     lr: float, temperature: float, seed: int, hard_negative_weight: float = 0.0) -> list[float]:
    """Fine-tune ``top`` on cached ``states`` with SimCSE's loss; returns the per-step losses.

    Each step draws ``batch_size`` anchors (seeded by ``seed``); ``pairs`` gives each anchor's positive row
    (``None``: the anchor itself, i.e. a second dropout view, unsupervised SimCSE) and hard-negative row
    (``None``: in-batch negatives only). Every row is encoded in train mode, so each forward draws its own
    dropout mask. AdamW, constant ``lr``.
    """
    from contrastkit.losses import SimCSE
    from contrastkit.training.loop import fit_steps

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the dropout masks
    loss_fn = SimCSE(temperature, hard_negative_weight=hard_negative_weight)
    opt = torch.optim.AdamW(top.parameters(), lr=lr)
    top.train()
    history: list[float] = []
    n = states.shape[0]

    def step(_: int) -> Tensor:
        idx = torch.randperm(n, generator=gen)[:batch_size]
        pos, neg = pairs(idx, gen)
        pos = idx if pos is None else pos
        z1 = top(states[idx], mask[idx])
        z2 = top(states[pos], mask[pos])
        negatives = None if neg is None else top(states[neg], mask[neg])
        loss = loss_fn(z1, z2, negatives=negatives)
        history.append(float(loss.detach()))
        return loss

    fit_steps(top, step, opt, steps)
    return history


class LeeEvaluation:
    """The Lee corpus (50 documents, human 50 x 50 similarities) cached below the top ``k`` layers:
    ``measure(top) -> {"spearman", "length_bias"}`` (see :func:`length_bias`)."""

    def __init__(self, encoder: Any, k: int, max_length: int) -> None:
        from contrastkit.text import corpora

        docs, self.human = corpora.lee_corpus()
        self.lengths = np.array([len(d.split()) for d in docs])
        self.states, self.mask = lower_states(encoder, docs, k, max_length=max_length)
        self.human_length_bias = human_length_bias(self.human, self.lengths)

    def measure(self, top: TopLayers) -> dict[str, float]:
        from contrastkit.evaluate import similarity_matrix_spearman

        emb = embed(top, self.states, self.mask)
        return {"spearman": similarity_matrix_spearman(emb, self.human), "length_bias": length_bias(emb, self.lengths)}


__all__ += ["LeeEvaluation", "train_top_layers"]
