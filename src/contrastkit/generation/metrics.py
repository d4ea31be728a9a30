"""Open-ended generation metrics: rep-n, diversity, coherence, token isotropy, MAUVE (optional).

Definitions follow Su et al., NeurIPS 2022 (SimCTG, ``simctg/evaluation.py``) and Su & Collier,
TMLR 2023 ("Contrastive Search Is What You Need", ``compute_coherence.py``, isotropy analysis).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.functional.similarity import pairwise_cosine

__all__ = ["coherence", "diversity", "isotropy", "mauve_score", "model_isotropy", "rep_n", "repetition_stats"]


def _ngram_counts(texts: Sequence[str], n: int, official_compat: bool) -> tuple[int, int]:
    unique = total = 0
    for text in texts:
        tokens = text.strip().split()
        # The official loop is ``while end_idx < len(tokens)``: it never counts a text's last n-gram.
        count = len(tokens) - n + (0 if official_compat else 1)
        grams = {tuple(tokens[i:i + n]) for i in range(max(count, 0))}
        unique += len(grams)
        total += max(count, 0)
    return unique, total


def _check_texts(texts: object) -> Sequence[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts: expected a list of strings")
    if len(texts) == 0:
        raise ValueError("texts: expected at least one text")
    return texts


def rep_n(texts: Sequence[str], n: int, *, official_compat: bool = True) -> float:
    """Sequence-level repetition ``rep-n = 100 * (1 - sum_texts |unique n-grams| / sum_texts |n-grams|)``.

    Su et al., NeurIPS 2022, §5.1 (from Welleck et al., 2020). Tokens are whitespace-split and unique
    n-grams are counted within each text, then summed over texts, as in ``simctg/evaluation.py``.
    ``official_compat=True`` (default, for parity with published numbers) reproduces the official
    loop that skips the last n-gram of every text; ``False`` counts all n-grams.
    """
    texts = _check_texts(texts)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    unique, total = _ngram_counts(texts, n, official_compat)
    if total == 0:
        raise ValueError(f"texts: no text has enough tokens for a {n}-gram")
    return 100.0 * (1.0 - unique / total)


def diversity(texts: Sequence[str], *, official_compat: bool = True) -> float:
    """``diversity = prod_{n=2..4} (1 - rep-n / 100)`` in ``[0, 1]`` (Su et al., NeurIPS 2022)."""
    out = 1.0
    for n in (2, 3, 4):
        out *= 1.0 - rep_n(texts, n, official_compat=official_compat) / 100.0
    return out


def repetition_stats(texts: Sequence[str], *, official_compat: bool = True) -> dict[str, float]:
    """``{"rep-2", "rep-3", "rep-4"}`` (percent) and ``"diversity"`` (fraction) of a set of texts."""
    stats = {f"rep-{n}": rep_n(texts, n, official_compat=official_compat) for n in (2, 3, 4)}
    stats["diversity"] = diversity(texts, official_compat=official_compat)
    return stats


@torch.no_grad()
def coherence(
    model: nn.Module,
    prefix_ids: Sequence[Sequence[int]] | Sequence[Tensor],
    continuation_ids: Sequence[Sequence[int]] | Sequence[Tensor],
    *,
    bos_token_id: int | None = None,
) -> float:
    """Mean log-probability of the continuation tokens under a scorer LM (Su & Collier, TMLR 2023).

    ``coherence = (1/N) sum_i (1/|c_i|) sum_t log p_scorer(c_{i,t} | [bos] + p_i + c_{i,<t})``
    (``compute_coherence.py`` scores with OPT; any causal LM can be the scorer). Each pair is scored
    on its own, so no padding enters the computation.
    """
    if len(prefix_ids) != len(continuation_ids) or len(prefix_ids) == 0:
        raise ValueError("continuation_ids: expected one non-empty continuation per prefix")
    device = next(model.parameters()).device
    scores = []
    for p, c in zip(prefix_ids, continuation_ids, strict=True):
        p_list = [int(v) for v in (p.tolist() if isinstance(p, Tensor) else p)]
        c_list = [int(v) for v in (c.tolist() if isinstance(c, Tensor) else c)]
        if not c_list:
            raise ValueError("continuation_ids: empty continuation")
        ctx = ([bos_token_id] if bos_token_id is not None else []) + p_list
        if not ctx:
            raise ValueError("prefix_ids: empty prefix and no bos_token_id to condition on")
        ids = torch.tensor([ctx + c_list], device=device)
        logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
        target = ids[0, len(ctx):]
        scores.append(float(logp[len(ctx) - 1:].gather(1, target[:, None]).mean()))
    return sum(scores) / len(scores)


def isotropy(hidden: Tensor, attention_mask: Tensor | None = None) -> float:
    """Token isotropy ``1 - mean_{i != j} cos(h_i, h_j)`` within each sequence, averaged over sequences.

    Su & Collier, TMLR 2023 (their Eq. for "isotropy" of token representations). ``hidden`` is
    ``(B, T, E)``; masked positions are left out. Higher means more isotropic (less similar tokens).
    """
    if hidden.dim() != 3:
        raise ValueError(f"hidden: expected a (batch, length, dim) tensor, got shape {tuple(hidden.shape)}")
    mask = torch.ones(hidden.shape[:2], dtype=torch.bool, device=hidden.device) if attention_mask is None \
        else attention_mask.bool()
    values = []
    for h, m in zip(hidden.float(), mask, strict=True):
        x = h[m]
        t = x.shape[0]
        if t < 2:
            continue
        sim = pairwise_cosine(x, x)
        values.append(1.0 - float((sim.sum() - sim.diagonal().sum()) / (t * (t - 1))))
    if not values:
        raise ValueError("attention_mask: every sequence has fewer than 2 tokens")
    return sum(values) / len(values)


@torch.no_grad()
def model_isotropy(model: nn.Module, input_ids: Tensor, attention_mask: Tensor | None = None) -> float:
    """:func:`isotropy` of a model's last-layer hidden states on ``input_ids``."""
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return isotropy(out.hidden_states[-1], attention_mask)


def mauve_score(p_features: Any, q_features: Any, **kwargs: Any) -> float:
    """MAUVE (Pillutla et al., NeurIPS 2021) on precomputed features via ``mauve-text``.

    Always pass features (e.g. MiniLM sentence embeddings or an LM's last hidden state): the package's
    default featurizer downloads gpt2-large. Raises ``ImportError`` when ``mauve-text`` is missing.
    """
    try:
        import mauve
    except ImportError as err:  # optional dependency
        raise ImportError("mauve_score needs the optional package mauve-text (pip install mauve-text)") from err
    import numpy as np

    out = mauve.compute_mauve(p_features=np.asarray(p_features), q_features=np.asarray(q_features),
                              verbose=False, **kwargs)
    return float(out.mauve)
