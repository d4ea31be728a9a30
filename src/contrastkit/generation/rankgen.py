"""RankGen (Krishna, Chang, Wieting & Iyyer, EMNLP 2022, "RankGen: Improving Text Generation with
Large Ranking Models").

A dual encoder scores a prefix ``p`` against a continuation ``c`` by ``p . c`` (unnormalised dot
product); inputs are marked with ``"pre"`` / ``"suffi"`` marker tokens and the vector is the first
token's hidden state through a bias-free linear layer. Training (paper §2, Eq. 1), with in-document
continuations ``c_j`` and model-generated negatives ``g_j`` of the same minibatch::

    Z(p_i) = sum_j exp(p_i . c_j) + sum_j exp(p_i . g_j),      L = - sum_i log( exp(p_i . c_i) / Z(p_i) )

which is the core ``InfoNCE(temperature=1.0, mode="a_to_b", similarity="dot")`` with the generated
continuations passed as ``negatives=``. At inference it reranks ``N`` nucleus samples or drives a
sampling beam search (``N`` samples of ``L`` tokens per beam, keep the best ``B``; paper §4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn

from contrastkit._validation import check_embeddings, check_same_dim
from contrastkit.generation.hf_cache import _cache_kwarg, _out_cache
from contrastkit.losses import InfoNCE
from contrastkit.losses.base import ContrastiveLoss

__all__ = ["RankGenEncoder", "RankGenLoss", "nucleus_sample", "over_generate_and_rerank", "rankgen_beam_search",
           "rankgen_loss"]


class RankGenEncoder(nn.Module):
    """Small transformer dual encoder: ``[marker] + tokens`` -> first-token state -> ``Linear(d, d)``.

    The marker is ``pre`` for prefixes and ``suffi`` for continuations (two extra token ids after
    the generator vocabulary); one encoder is shared by both sides, as in RankGen. Padding is given by
    a mask (any padding side); the first-token vector does not depend on the amount of padding.
    """

    def __init__(self, vocab_size: int, d_model: int = 128, num_layers: int = 2, num_heads: int = 4,
                 dim_feedforward: int = 256, max_len: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size: expected >= 1, got {vocab_size}")
        self.vocab_size, self.max_len = vocab_size, max_len
        self.pre_id, self.suffi_id, self.pad_id = vocab_size, vocab_size + 1, vocab_size + 2
        self.embed = nn.Embedding(vocab_size + 3, d_model, padding_idx=self.pad_id)
        self.pos = nn.Embedding(max_len + 1, d_model)
        layer = nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def _encode(self, ids: Tensor, mask: Tensor | None, marker: int) -> Tensor:
        if ids.dim() != 2:
            raise ValueError(f"ids: expected a (batch, length) tensor, got shape {tuple(ids.shape)}")
        valid = torch.ones_like(ids, dtype=torch.bool) if mask is None else mask.bool()
        if valid.shape != ids.shape:
            raise ValueError(f"mask: expected shape {tuple(ids.shape)}, got {tuple(valid.shape)}")
        if int(valid.sum(1).max()) + 1 > self.max_len + 1:
            raise ValueError(f"ids: sequences longer than max_len={self.max_len}")
        ids = ids.masked_fill(~valid, self.pad_id)
        B = ids.shape[0]
        x_ids = torch.cat([torch.full((B, 1), marker, dtype=ids.dtype, device=ids.device), ids], 1)
        x_valid = torch.cat([valid.new_ones(B, 1), valid], 1)
        pos = (x_valid.long().cumsum(1) - 1).clamp_min(0)
        h = self.embed(x_ids) + self.pos(pos)
        h = self.encoder(h, src_key_padding_mask=~x_valid)
        return self.proj(self.norm(h[:, 0]))

    def encode_prefix(self, ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, d)`` prefix vectors (``"pre"`` marker)."""
        return self._encode(ids, mask, self.pre_id)

    def encode_suffix(self, ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, d)`` continuation vectors (``"suffi"`` marker)."""
        return self._encode(ids, mask, self.suffi_id)

    def score(self, prefix_ids: Tensor, suffix_ids: Tensor, suffix_mask: Tensor | None = None) -> Tensor:
        """RankGen score ``p . c`` of one prefix ``(1, S)`` (or ``(B, S)``) against ``(B, L)`` suffixes."""
        p = self.encode_prefix(prefix_ids)
        c = self.encode_suffix(suffix_ids, suffix_mask)
        return (p * c).sum(-1)


class RankGenLoss(ContrastiveLoss):
    """RankGen's loss (Krishna et al., EMNLP 2022, Eq. 1) of prefix and continuation vectors.

    ``l_i = -log exp(p_i . c_i) / (sum_j exp(p_i . c_j) + sum_j exp(p_i . g_j))``: the core
    ``InfoNCE(temperature=1.0, mode="a_to_b", similarity="dot")`` with the model-generated
    continuations ``g`` as extra ``negatives`` (``None``: in-document negatives only).
    Call ``loss(prefix_emb (N, d), cont_emb (N, d), generated_emb (M, d) | None)``.

    Args:
        reduction: ``mean`` (the paper's, up to the constant ``N``), ``sum`` or ``none`` (``l_i`` per prefix).

    Raises:
        ValueError / TypeError: a vector batch that is not ``(N, d)``, or of another ``d`` / ``N``.
    """

    citation: ClassVar[str] = ("Krishna et al. 2022, EMNLP, RankGen: Improving Text Generation with "
                               "Large Ranking Models")

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._infonce = InfoNCE(temperature=1.0, mode="a_to_b", similarity="dot", reduction=reduction)

    def forward(self, prefix_emb: Tensor, cont_emb: Tensor, generated_emb: Tensor | None = None) -> Tensor:
        check_embeddings(prefix_emb, "prefix_emb")
        check_embeddings(cont_emb, "cont_emb")
        if cont_emb.shape != prefix_emb.shape:
            raise ValueError(f"cont_emb: expected the shape of prefix_emb {tuple(prefix_emb.shape)}, got "
                             f"{tuple(cont_emb.shape)}")
        if generated_emb is not None:
            check_embeddings(generated_emb, "generated_emb")
            check_same_dim(prefix_emb, generated_emb, "prefix_emb", "generated_emb")
        return self._infonce(prefix_emb, cont_emb, negatives=generated_emb)


def rankgen_loss(prefix_emb: Tensor, cont_emb: Tensor, generated_emb: Tensor | None = None) -> Tensor:
    """RankGen's mean loss (:class:`RankGenLoss`)."""
    return RankGenLoss()(prefix_emb, cont_emb, generated_emb)


@torch.no_grad()
def nucleus_sample(model: nn.Module, input_ids: Tensor, max_new_tokens: int, *, top_p: float = 0.9,
                   temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Nucleus (top-p) sampling (Holtzman et al., ICLR 2020) of ``max_new_tokens`` for unpadded rows.

    Keeps the smallest set of tokens whose probability mass reaches ``top_p`` (at least one), draws
    one ``torch.multinomial`` per row and step from ``generator``. Returns only the new ``(B, n)`` ids.
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p: expected a number in (0, 1], got {top_p!r}")
    if temperature <= 0:
        raise ValueError(f"temperature: expected > 0, got {temperature!r}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens: expected >= 1, got {max_new_tokens}")
    ids, cache, new = input_ids, None, []
    cache_kw = _cache_kwarg(model)
    for _ in range(max_new_tokens):
        extra = {cache_kw: cache} if cache is not None else {}
        out = model(input_ids=ids, use_cache=True, **extra)
        cache = _out_cache(out)
        logits = out.logits[:, -1].float() / temperature
        probs = torch.softmax(logits, -1)
        sorted_p, order = probs.sort(-1, descending=True)
        drop = sorted_p.cumsum(-1) - sorted_p >= top_p  # mass before this token already reaches top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        pick = torch.multinomial(sorted_p, 1, generator=generator)
        token = order.gather(1, pick)
        new.append(token)
        ids = token
    return torch.cat(new, 1)


Scorer = Callable[[Tensor, Tensor], Tensor]


def _scorer(scorer: RankGenEncoder | Scorer) -> Scorer:
    if isinstance(scorer, RankGenEncoder):
        return lambda prefix, conts: scorer.score(prefix, conts)
    return scorer


@torch.no_grad()
def over_generate_and_rerank(model: nn.Module, scorer: RankGenEncoder | Scorer, prefix_ids: Tensor,
                             num_samples: int = 10, max_new_tokens: int = 32, *, top_p: float = 0.9,
                             generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Sample ``N`` continuations of a ``(1, S)`` prefix and rerank them by RankGen score.

    Returns ``(best (1, n), samples (N, n), scores (N,))``.
    """
    if prefix_ids.dim() != 2 or prefix_ids.shape[0] != 1:
        raise ValueError(f"prefix_ids: expected shape (1, S), got {tuple(prefix_ids.shape)}")
    if num_samples < 1:
        raise ValueError(f"num_samples: expected >= 1, got {num_samples}")
    samples = nucleus_sample(model, prefix_ids.repeat(num_samples, 1), max_new_tokens, top_p=top_p,
                             generator=generator)
    scores = _scorer(scorer)(prefix_ids, samples)
    return samples[int(scores.argmax())][None], samples, scores


@torch.no_grad()
def rankgen_beam_search(model: nn.Module, scorer: RankGenEncoder | Scorer, prefix_ids: Tensor, *,
                        num_samples: int = 10, beam_size: int = 2, step_len: int = 20, max_new_tokens: int = 64,
                        top_p: float = 0.9, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """RankGen beam search (paper §4, Alg. 1): each of the ``B`` beams is extended by ``N`` nucleus
    samples of ``L`` tokens, every candidate's whole continuation is scored against the prefix, and
    the ``B`` best are kept, until ``max_new_tokens``. ``N=20, B=1, L=max`` is plain reranking.

    The token budget is reset per prefix (the official generator's counter is not).
    Returns ``(best continuation (1, n), its score)``.
    """
    if prefix_ids.dim() != 2 or prefix_ids.shape[0] != 1:
        raise ValueError(f"prefix_ids: expected shape (1, S), got {tuple(prefix_ids.shape)}")
    for name, v in (("num_samples", num_samples), ("beam_size", beam_size), ("step_len", step_len),
                    ("max_new_tokens", max_new_tokens)):
        if v < 1:
            raise ValueError(f"{name}: expected >= 1, got {v}")
    score_fn = _scorer(scorer)
    beams = prefix_ids.new_zeros(1, 0)
    scores = torch.zeros(1)
    done = 0
    while done < max_new_tokens:
        n = min(step_len, max_new_tokens - done)
        ctx = torch.cat([prefix_ids.expand(beams.shape[0], -1), beams], 1)
        ctx = ctx.repeat_interleave(num_samples, 0)
        ext = nucleus_sample(model, ctx, n, top_p=top_p, generator=generator)
        cands = torch.cat([beams.repeat_interleave(num_samples, 0), ext], 1)
        cand_scores = score_fn(prefix_ids, cands)
        keep = cand_scores.topk(min(beam_size, cands.shape[0])).indices
        beams, scores = cands[keep], cand_scores[keep]
        done += n
    return beams[:1], scores[:1]
