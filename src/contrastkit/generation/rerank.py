"""Generative reranking with a causal LM scored by the "yes" token, trained by SFT or by contrastive
learning, and the weight x direction decomposition of their gradients (Dai, Zhang et al., 2025,
"Supervised Fine-Tuning or Contrastive Learning? Towards Better Multimodal LLM Reranking").

A reranker reads the prompt ``query [SEP] document [ASK]`` and takes ``h`` = the last hidden state at
the answer position (the ``[ASK]`` token; the LM's final layer norm included). With ``w_yes`` / ``w_no``
the LM-head rows of the tokens "yes" / "no" (a bias-free head, as GPT-2's), ``s_y = w_yes . h`` and
``s_n = w_no . h``. A training group is one query with ``K`` candidate documents, exactly one of them
relevant (index ``p``):

* **CL** (listwise InfoNCE over the group, temperature 1, on the "yes" logit)::

      L_CL = -log exp(s_y(h_p)) / sum_k exp(s_y(h_k))

  computed by the core ``InfoNCE(temperature=1.0, similarity="dot")`` listwise path: the anchor is
  ``w_yes`` and the ``K`` hidden states are that anchor's own ``candidates=`` ``(N, K, d)``.
* **SFT** (a per-document 2-way cross-entropy over {"yes", "no"}: "yes" for the positive, "no" for
  every negative)::

      L_SFT = -log sigmoid(s_y(h_p) - s_n(h_p)) - sum_{k != p} log sigmoid(s_n(h_k) - s_y(h_k))

* **Weight x direction** (exact): ``dL/dh_k = W_k * D`` with
  ``W_CL,k = softmax_k(s_y) - [k = p]``, ``D_CL = w_yes`` and ``W_SFT,k = sigmoid(s_y - s_n)_k - [k = p]``,
  ``D_SFT = w_yes - w_no``. So ``W_p = -(1 - p_p)`` and ``W_k = p_k`` for a negative; for CL
  ``sum_{k != p} W_k = -W_p``: once the positive wins the group's softmax every negative stops
  receiving gradient, while SFT keeps pushing each negative until it is itself a confident "no".
* **Unified reranking loss** ``L_URL(W, D) = sum_k sg[W_k] * (D . h_k)``: its gradient (with respect to
  ``h`` and to the head rows in ``D``) is ``W_k * D``; crossing ``W in {CL, SFT}`` with
  ``D in {CL, SFT}`` gives the paper's four probes, ``(CL, CL)`` and ``(SFT, SFT)`` having exactly the
  gradients of ``L_CL`` and ``L_SFT``.

The paper's code (``vec-ai/lychee-rerank-mm``) was not available; the formulas follow the paper and the
identities are checked by autograd in ``tests/test_generation_rerank.py`` (exact in float64).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_choice, check_embeddings, check_index, check_same_device, compute_dtype
from contrastkit.losses import InfoNCE
from contrastkit.losses.base import ContrastiveLoss

OBJECTIVES = ("cl", "sft")

__all__ = ["OBJECTIVES", "RerankLoss", "YesNoReranker", "encode_groups", "positive_index_from_relevance",
           "rerank_direction", "rerank_scores", "rerank_weights"]


def _check_group_inputs(hidden: object, w_yes: object, w_no: object, positive_index: object) -> tuple[
        Tensor, Tensor, Tensor, Tensor]:
    check_same_device({"hidden": hidden, "w_yes": w_yes, "w_no": w_no, "positive_index": positive_index},
                      cpu_ok=("positive_index",))
    h = check_embeddings(hidden, "hidden", rank=3)
    n, k, d = h.shape
    if n == 0:  # a mean over no queries would be a silent NaN
        raise ValueError(f"hidden: expected at least one query group, got shape {tuple(h.shape)}")
    if k < 2:
        raise ValueError(f"hidden: expected (N, K, d) with K >= 2 candidates per query, got shape {tuple(h.shape)}")
    heads = []
    for name, w in (("w_yes", w_yes), ("w_no", w_no)):
        w = check_embeddings(w, name, rank=1)
        if w.shape[0] != d:
            raise ValueError(f"{name}: expected a ({d},) LM-head row (the last dimension of hidden), got shape "
                             f"{tuple(w.shape)}")
        heads.append(w)
    if positive_index is None:
        raise ValueError("positive_index: expected the (N,) index of each query's relevant candidate, got None")
    index = check_index(positive_index, n, k, "positive_index").to(h.device)
    return h, heads[0], heads[1], index


def rerank_scores(hidden: Tensor, w_yes: Tensor, w_no: Tensor) -> tuple[Tensor, Tensor]:
    """``(s_y, s_n)``, each ``(..., K)``: the "yes" / "no" logits ``w . h`` of hidden states ``(..., K, d)``."""
    return hidden @ w_yes, hidden @ w_no


def rerank_weights(s_yes: Tensor, s_no: Tensor, positive_index: Tensor, weight: str) -> Tensor:
    """The ``(N, K)`` gradient weights ``W`` of one objective (no gradient flows through them).

    ``weight="cl"``: ``softmax_k(s_y) - onehot(p)``; ``weight="sft"``: ``sigmoid(s_y - s_n) - onehot(p)``.
    ``s_yes`` / ``s_no``: ``(N, K)`` logits; ``positive_index``: ``(N,)``.
    """
    weight = check_choice(weight, "weight", OBJECTIVES)
    s_yes, s_no = s_yes.detach(), s_no.detach()
    prob = torch.softmax(s_yes, dim=-1) if weight == "cl" else torch.sigmoid(s_yes - s_no)
    return prob - F.one_hot(positive_index, s_yes.shape[-1]).to(prob.dtype)


def rerank_direction(w_yes: Tensor, w_no: Tensor, direction: str) -> Tensor:
    """The ``(d,)`` gradient direction ``D``: ``w_yes`` (``"cl"``) or ``w_yes - w_no`` (``"sft"``)."""
    direction = check_choice(direction, "direction", OBJECTIVES)
    return w_yes if direction == "cl" else w_yes - w_no


class RerankLoss(ContrastiveLoss):
    """Reranking objective of one query group: SFT, CL, or a unified weight x direction probe.

    Call ``loss(hidden (N, K, d), w_yes (d,), w_no (d,), positive_index=(N,))`` with ``hidden`` the
    answer-position states of the ``N`` queries' ``K`` candidates and ``w_yes`` / ``w_no`` the LM-head
    rows (see the module doc for the formulas):

    * ``weight == direction == "cl"``: ``L_CL`` by the core listwise InfoNCE (``candidates=``);
    * ``weight == direction == "sft"``: ``L_SFT``, the per-document "yes"/"no" cross-entropy summed
      over the group;
    * mixed: the surrogate ``L_URL = sum_k sg[W_k] (D . h_k)``, whose value is not a loss (it may be
      negative) but whose gradient is ``W_k * D``, the paper's probe.

    Args:
        weight: ``"sft"`` (default) or ``"cl"``: which objective's weights ``W``.
        direction: ``"sft"`` or ``"cl"``: which direction ``D`` (default: the same as ``weight``).
        reduction: ``mean`` (over queries), ``sum`` or ``none`` (one value per query).

    Raises:
        ValueError / TypeError: ``hidden`` not ``(N >= 1, K >= 2, d)`` floating and finite, a head row not
        ``(d,)``, ``positive_index`` missing, not ``(N,)`` integers or outside ``0..K-1``.
    """

    citation: ClassVar[str] = ("Dai, Zhang et al. 2025, arXiv:2510.14824, Supervised Fine-Tuning or Contrastive "
                               "Learning? Towards Better Multimodal LLM Reranking")
    _config_keys: ClassVar[tuple[str, ...]] = ("weight", "direction")

    def __init__(self, weight: str = "sft", direction: str | None = None, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = check_choice(weight, "weight", OBJECTIVES)
        self.direction = self.weight if direction is None else check_choice(direction, "direction", OBJECTIVES)
        # the listwise InfoNCE of the CL objective: anchor w_yes, its own K candidates, dot / tau = 1
        self._infonce = InfoNCE(temperature=1.0, similarity="dot", reduction="none", tile_size=None)

    def forward(self, hidden: Tensor, w_yes: Tensor, w_no: Tensor, positive_index: Tensor | None = None) -> Tensor:
        h, wy, wn, index = _check_group_inputs(hidden, w_yes, w_no, positive_index)
        dtype = compute_dtype(h, wy, wn)
        h, wy, wn = h.to(dtype), wy.to(dtype), wn.to(dtype)
        n = h.shape[0]
        if self.weight == self.direction == "cl":
            per_query = self._infonce(wy.expand(n, -1), candidates=h, positive_index=index)
        elif self.weight == self.direction == "sft":
            s_y, s_n = rerank_scores(h, wy, wn)
            margin = s_y - s_n
            positive = F.one_hot(index, h.shape[1]).to(torch.bool)
            # "yes" for the positive, "no" for each negative: -log sigmoid(+-(s_y - s_n))
            per_query = -F.logsigmoid(torch.where(positive, margin, -margin)).sum(dim=1)
        else:
            s_y, s_n = rerank_scores(h, wy, wn)
            w = rerank_weights(s_y, s_n, index, self.weight)
            per_query = (w * (h @ rerank_direction(wy, wn, self.direction))).sum(dim=1)
        return self.reduce(per_query)


def positive_index_from_relevance(relevance: object) -> Tensor:
    """The ``(N,)`` index of each group's one relevant candidate from ``relevance`` ``(N, K)`` (0/1 or bool).

    Raises:
        ValueError / TypeError: ``relevance`` not a 2-D tensor / nested list of 0/1 values, a group with no
            positive, or one with more than one (the listwise objectives take exactly one).
    """
    try:
        rel = torch.as_tensor(relevance)
    except (TypeError, ValueError, RuntimeError) as err:  # RuntimeError: torch cannot infer a dtype (None)
        raise TypeError(f"relevance: expected an (N, K) tensor or nested list of 0/1 values ({err})") from None
    if rel.dim() != 2 or rel.shape[0] == 0 or rel.shape[1] < 2:
        raise ValueError(f"relevance: expected shape (N >= 1, K >= 2), got {tuple(rel.shape)}")
    if rel.dtype != torch.bool:
        if rel.is_floating_point() or rel.is_complex() or not bool(((rel == 0) | (rel == 1)).all()):
            raise ValueError("relevance: expected 0/1 (or bool) values")
        rel = rel.to(torch.bool)
    count = rel.sum(dim=1)
    if bool((count == 0).any()):
        bad = int((count == 0).nonzero()[0, 0])
        raise ValueError(f"relevance: group {bad} has no positive candidate (each query needs exactly one)")
    if bool((count > 1).any()):
        bad = int((count > 1).nonzero()[0, 0])
        raise ValueError(f"relevance: group {bad} has {int(count[bad])} positive candidates (each query needs "
                         "exactly one)")
    return rel.to(torch.long).argmax(dim=1)


def _token_ids(tokens: Sequence[object], name: str) -> list[int]:
    out = []
    for t in tokens:
        try:
            if isinstance(t, bool):
                raise TypeError
            value = operator.index(t)  # int, numpy integer, 0-d integer tensor; never a truncated float
        except TypeError:
            raise TypeError(f"{name}: expected integer token ids, got {t!r}") from None
        if value < 0:
            raise ValueError(f"{name}: expected non-negative token ids, got {value}")
        out.append(value)
    return out


def encode_groups(queries: Sequence[Sequence[int]], candidates: Sequence[Sequence[Sequence[int]]], *, sep_id: int,
                  ask_id: int, pad_id: int, max_length: int) -> tuple[Tensor, Tensor]:
    """Right-padded prompts ``query [SEP] document [ASK]`` of every (query, candidate) pair.

    Args:
        queries: ``N`` token-id lists.
        candidates: ``N`` lists of ``K`` token-id lists each (the same ``K`` for every query).
        sep_id, ask_id, pad_id: special token ids.
        max_length: longest prompt allowed (documents are never truncated silently).

    Returns:
        ``(input_ids, attention_mask)``, each ``(N, K, L)`` long, ``L`` the longest prompt.

    Raises:
        TypeError: a token id that is not an integer (a float is never truncated).
        ValueError: a negative token id, ``candidates`` of another length than ``queries``, a query whose
            number of candidates differs from the first query's (``K`` mismatch), an empty query or document,
            or a prompt longer than ``max_length``.
    """
    if len(queries) == 0:
        raise ValueError("queries: expected at least one query")
    if len(candidates) != len(queries):
        raise ValueError(f"candidates: expected one candidate list per query ({len(queries)}), got {len(candidates)}")
    k = len(candidates[0])
    prompts: list[list[int]] = []
    for i, (q, group) in enumerate(zip(queries, candidates, strict=True)):
        if len(q) == 0:
            raise ValueError(f"queries: query {i} is empty")
        q = _token_ids(q, f"queries: query {i}")
        if len(group) != k:
            raise ValueError(f"candidates: query {i} has {len(group)} candidates, expected {k} (the first query's); "
                             "every query needs the same K")
        for j, doc in enumerate(group):
            if len(doc) == 0:
                raise ValueError(f"candidates: document {j} of query {i} is empty")
            prompt = [*q, sep_id, *_token_ids(doc, f"candidates: document {j} of query {i}"), ask_id]
            if len(prompt) > max_length:
                raise ValueError(f"max_length: the prompt of query {i}, document {j} has {len(prompt)} tokens, "
                                 f"more than {max_length}")
            prompts.append([int(t) for t in prompt])
    if k < 2:
        raise ValueError(f"candidates: expected K >= 2 candidates per query, got {k}")
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, p in enumerate(prompts):
        ids[r, : len(p)] = torch.tensor(p)
        mask[r, : len(p)] = 1
    return ids.view(len(queries), k, width), mask.view(len(queries), k, width)


class YesNoReranker(nn.Module):
    """A causal LM (Hugging Face ``*ForCausalLM`` with a bias-free output head) as a yes/no reranker.

    ``hidden(input_ids, attention_mask)`` returns the final hidden state at each prompt's last real
    token (right padding; a left-padded mask raises ``ValueError``), ``(..., d)`` for ``(..., L)`` ids;
    ``heads()`` the ``(w_yes, w_no)`` rows of the output head (tied to the input embeddings in GPT-2), so
    that ``w_yes . h`` is the LM's "yes" logit.
    """

    def __init__(self, lm: nn.Module, yes_id: int, no_id: int) -> None:
        super().__init__()
        head = lm.get_output_embeddings()
        if head is None or getattr(head, "bias", None) is not None:
            raise ValueError("lm: expected a causal LM with a bias-free output head (logit = w . h)")
        vocab = head.weight.shape[0]
        for name, value in (("yes_id", yes_id), ("no_id", no_id)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < vocab:
                raise ValueError(f"{name}: expected a token id in 0..{vocab - 1}, got {value!r}")
        if yes_id == no_id:
            raise ValueError("no_id: expected a token other than yes_id")
        self.lm, self.yes_id, self.no_id = lm, yes_id, no_id

    def heads(self) -> tuple[Tensor, Tensor]:
        w = self.lm.get_output_embeddings().weight
        return w[self.yes_id], w[self.no_id]

    def hidden(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        shape = input_ids.shape
        if attention_mask.shape != shape:
            raise ValueError(f"attention_mask: expected the shape of input_ids {tuple(shape)}, got "
                             f"{tuple(attention_mask.shape)}")
        ids, mask = input_ids.reshape(-1, shape[-1]), attention_mask.reshape(-1, shape[-1])
        last = mask.sum(dim=1) - 1
        if bool((last < 0).any()):
            raise ValueError("attention_mask: a prompt has no real token")
        if mask.shape[1] > 1 and bool((mask[:, 1:] > mask[:, :-1]).any()):
            # the answer state is read at position mask.sum() - 1: only right padding puts it there
            raise ValueError("attention_mask: expected right-padded prompts (1 ... 1 0 ... 0), got a 0 before a 1")
        states = self.lm.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        h = states[torch.arange(ids.shape[0], device=ids.device), last]
        return h.view(*shape[:-1], h.shape[-1])

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        """``(s_y, s_n)``: the "yes" / "no" logits of each prompt, shape ``input_ids.shape[:-1]``."""
        w_yes, w_no = self.heads()
        return rerank_scores(self.hidden(input_ids, attention_mask), w_yes, w_no)
