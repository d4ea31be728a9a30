"""Contrastive search decoding for Hugging Face causal and encoder-decoder language models.

Su et al., NeurIPS 2022, "A Contrastive Framework for Neural Text Generation" (SimCTG), Eq. 5;
Su & Collier, TMLR 2023, "Contrastive Search Is What You Need For Neural Text Generation".
At step ``t`` with context ``x_<t`` and ``V^(k)`` the ``k`` most probable next tokens::

    x_t = argmax_{v in V^(k)} { (1 - alpha) * p(v | x_<t) - alpha * max_{j < t} cos(h_v, h_{x_j}) }

``h`` is the last-layer hidden state (after the final norm), ``h_v`` the one obtained by feeding
candidate ``v``; the max runs over every earlier position (prompt included, left padding excluded).

transformers removed this decoding mode from its core in 4.56 (it now loads Hub remote code). This
module reproduces transformers 4.55.4 ``generate(penalty_alpha=..., top_k=...)`` token for token
(see ``tests/hf4``) and runs on transformers 4.x and 5.x. Per step it makes one batched forward of the
``B * k`` candidates, either against one shared KV cache per row with a 4D mask that lets each
candidate see only the context and itself (``candidate_scoring="shared"``, the default on
transformers >= 4.55) or against the cache expanded ``k`` times (``"expanded"``, as 4.55), then keeps the
chosen candidate's keys and values. Compared with the 4.55 implementation it fuses "select + re-expand" into one gather,
keeps the context hidden states L2-normalised once, scores the penalty with a ``(B, k, T)`` batched
matmul instead of a ``k``-times repeated context, and (for decoder-only models whose logits are
``lm_head(last hidden)``, checked at run time) runs the LM head on the chosen candidate only.

One deliberate divergence from transformers: a candidate of probability 0 (a token a logits processor
forbade, present in the top-k only because fewer than ``k`` tokens are allowed) is never selected;
transformers can select it when its degeneration penalty is low enough.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["contrastive_search", "hf_custom_generate"]

LogitsProcessor = Callable[[Tensor, Tensor], Tensor]


def _normalize(h: Tensor) -> Tensor:
    # Same expression as transformers' ``_ranking_fast`` so that cosines agree bit for bit.
    return h / h.norm(dim=-1, keepdim=True)


def _check_ids(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of token ids, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (batch, length) tensor, got shape {tuple(x.shape)}")
    # Embedding lookups take int64 / int32 indices only: int8, uint8 and int16 ids failed inside the model.
    if x.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{name}: expected an int64 or int32 tensor of token ids, got {x.dtype}")
    return x


def _eos_list(eos: int | Sequence[int] | Tensor | None) -> list[int]:
    if eos is None:
        return []
    if isinstance(eos, Tensor):
        return [int(v) for v in eos.flatten().tolist()]
    items = [eos] if isinstance(eos, numbers.Integral) else eos
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise TypeError(f"eos_token_id: expected an int, a sequence of ints or a tensor, got {eos!r}")
    return [int(v) for v in items]


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    # A named parameter only: some forwards take ``**deprecated_arguments`` and raise on any unknown
    # keyword (Bloom in transformers 4.x), so ``**kwargs`` is no promise that ``name`` is understood.
    return name in params


def _fast_head(model: nn.Module, hidden_last: Tensor, logits_last: Tensor) -> tuple[nn.Module, Callable] | None:
    """``(body, head)`` when ``logits == head(last hidden state)`` for this model, else ``None``.

    Checked on the prompt's last position, so models that rescale or soft-cap logits fall back to
    the full forward automatically.
    """
    body = getattr(model, "base_model", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if body is None or body is model or head is None:
        return None
    with torch.no_grad():
        check = head(hidden_last).float()
    if check.shape != logits_last.shape or not torch.allclose(check, logits_last, rtol=1e-5, atol=1e-5):
        return None
    return body, head


@torch.no_grad()
def contrastive_search(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    top_k: int = 4,
    penalty_alpha: float = 0.6,
    max_new_tokens: int = 32,
    eos_token_id: int | Sequence[int] | None = None,
    pad_token_id: int | None = None,
    *,
    decoder_input_ids: Tensor | None = None,
    logits_processor: LogitsProcessor | None = None,
    encoder_outputs: Any | None = None,
    use_fast_head: bool = True,
    candidate_scoring: str = "auto",
) -> Tensor:
    """Contrastive search (Su et al., NeurIPS 2022, Eq. 5) with a reused KV cache.

    ``x_t = argmax_{v in top-k} (1 - alpha) p(v | x_<t) - alpha max_{j<t} cos(h_v, h_j)``.

    Args:
        model: a transformers causal LM (``GPT2LMHeadModel``, ``LlamaForCausalLM``, ...) or an
            encoder-decoder LM (``T5ForConditionalGeneration``, ``BartForConditionalGeneration``).
        input_ids: ``(B, S)`` prompt ids, **left**-padded for a batch of unequal prompts (decoder-only);
            for an encoder-decoder model the source ids (any padding side).
        attention_mask: ``(B, S)`` 1 for tokens, 0 for padding; ``None`` means no padding.
        top_k: candidate set size ``k >= 1`` (``k = 1`` is greedy decoding).
        penalty_alpha: ``alpha`` in ``[0, 1]``; ``0`` is greedy decoding.
        max_new_tokens: number of tokens to generate (fewer if every row ends with EOS).
        eos_token_id: one id or a list; ``None`` uses ``model.generation_config.eos_token_id``.
            Pass ``[]`` to never stop early.
        pad_token_id: id written after a row's EOS; ``None`` uses the generation config's pad id,
            else the first EOS id (as ``generate`` does).
        decoder_input_ids: encoder-decoder only: decoder prompt (default: the decoder start token).
        logits_processor: optional ``f(ids, logits) -> logits`` applied before the top-k
            (e.g. a transformers ``LogitsProcessorList``).
        encoder_outputs: encoder-decoder only: precomputed encoder outputs (``input_ids`` is then
            only used for its shape).
        use_fast_head: allow the LM-head-on-chosen-candidate shortcut (verified at run time).
        candidate_scoring: decoder-only models: ``"expanded"`` (as transformers 4.55: the ``B k``
            candidates against the KV cache expanded ``k`` times), ``"shared"`` (the ``k``
            candidates of a row as ``k`` query tokens against the row's one cache, a 4D mask letting
            each see the context and itself only; the chosen candidate's keys and values are then
            moved into place and the rest cropped: no ``k``-fold cache copy per step) or
            ``"auto"`` (default: ``"shared"`` on transformers >= 4.55, where its 4D mask handling is
            tested against the 4.55.4 golden ids under 4.55.4 and 5.x; ``"expanded"`` on older
            releases and for sliding-window, chunked / local attention and ALiBi models, forwards without
            ``position_ids`` and 4.x models that read a 4D mask as 0/1, for which ``"shared"`` raises
            ``ValueError``). The first shared step also checks one candidate's hidden state against a plain
            forward with a 2D mask (skipped for transformers' own classes of :data:`PARITY_TESTED_TYPES`);
            on a mismatch or a failure ``"auto"`` reruns with ``"expanded"`` and ``"shared"`` raises
            ``ValueError``. The attention's float
            rounding differs between the two, so a near-tie could resolve differently.

    Returns:
        ``(B, S + n)`` ids (prompt + generated) for decoder-only models, ``(B, D + n)`` decoder ids
        (start token + generated) for encoder-decoder models, like ``generate``.
    """
    input_ids = _check_ids(input_ids, "input_ids")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k: expected an integer >= 1, got {top_k!r}")
    if isinstance(penalty_alpha, bool) or not isinstance(penalty_alpha, (int, float)) or not (
        0.0 <= penalty_alpha <= 1.0
    ):
        raise ValueError(f"penalty_alpha: expected a number in [0, 1], got {penalty_alpha!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens: expected an integer >= 0, got {max_new_tokens!r}")
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"model: expected a transformers PreTrainedModel, got {type(model).__name__}")
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    vocab = getattr(head, "weight", None).shape[0] if getattr(head, "weight", None) is not None else None
    if vocab is not None and top_k > vocab:
        raise ValueError(f"top_k: expected at most the vocabulary size {vocab}, got {top_k}")
    n_embed = _input_vocab(model)
    if n_embed is not None and encoder_outputs is None and bool(((input_ids < 0) | (input_ids >= n_embed)).any()):
        raise ValueError(f"input_ids: expected ids in [0, {n_embed}) (the embedding size), got values in "
                         f"[{int(input_ids.min())}, {int(input_ids.max())}]")
    if logits_processor is not None and not callable(logits_processor):
        raise TypeError(f"logits_processor: expected a callable f(ids, logits) -> logits, got "
                        f"{type(logits_processor).__name__}")

    gen_cfg = getattr(model, "generation_config", None)
    eos = _eos_list(eos_token_id if eos_token_id is not None else getattr(gen_cfg, "eos_token_id", None))
    if pad_token_id is None:
        pad_token_id = getattr(gen_cfg, "pad_token_id", None)
        if pad_token_id is None and eos:
            pad_token_id = eos[0]
    if isinstance(pad_token_id, Tensor) and pad_token_id.numel() == 1 and not pad_token_id.dtype.is_floating_point:
        pad_token_id = int(pad_token_id)
    if pad_token_id is not None and (isinstance(pad_token_id, bool) or not isinstance(pad_token_id, numbers.Integral)):
        raise TypeError(f"pad_token_id: expected an int, got {pad_token_id!r}")
    device = input_ids.device
    B = input_ids.shape[0]
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    else:
        if not isinstance(attention_mask, Tensor) or attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask: expected a tensor of shape {tuple(input_ids.shape)}, got "
                f"{getattr(attention_mask, 'shape', type(attention_mask).__name__)}"
            )
        if not bool(((attention_mask == 0) | (attention_mask == 1)).all()):
            raise ValueError("attention_mask: expected only 0 (padding) and 1 (token) values")
        attention_mask = attention_mask.to(device=device, dtype=torch.long)
    is_enc_dec = bool(getattr(config, "is_encoder_decoder", False))
    if not is_enc_dec and decoder_input_ids is not None:
        raise ValueError("decoder_input_ids: only for encoder-decoder models; this model is decoder-only "
                         "(put the whole prompt in input_ids)")
    if not is_enc_dec:
        n_pos = _learned_positions(model)
        if n_pos is not None and input_ids.shape[1] + max_new_tokens > n_pos:
            raise ValueError(f"max_new_tokens: prompt length {input_ids.shape[1]} + max_new_tokens {max_new_tokens} "
                             f"exceeds the model's {n_pos} learned positions")
    if not is_enc_dec and bool((attention_mask[:, -1] == 0).any()):
        raise ValueError(
            "attention_mask: a row ends with padding; decoder-only contrastive search needs left-padded "
            "prompts (tokenizer.padding_side = 'left')"
        )
    if candidate_scoring not in ("auto", "expanded", "shared"):
        raise ValueError(f"candidate_scoring: expected 'auto', 'expanded' or 'shared', got {candidate_scoring!r}")
    unsupported = None if is_enc_dec else (_shared_unsupported(config) or _binary_4d_mask(model)
                                            or _no_position_ids(model))
    auto = candidate_scoring == "auto"
    if auto:
        candidate_scoring = "shared" if _transformers_version() >= (4, 55) and unsupported is None else "expanded"
    elif candidate_scoring == "shared" and unsupported is not None:
        raise ValueError(f"candidate_scoring: 'shared' is not supported for this model ({unsupported}); "
                         "use 'expanded' or 'auto'")
    if max_new_tokens == 0:
        return input_ids if not is_enc_dec else _decoder_start(model, B, device, decoder_input_ids)

    if is_enc_dec:
        state: _CausalState | _EncDecState = _EncDecState(model, input_ids, attention_mask, decoder_input_ids,
                                                          encoder_outputs, top_k)
    else:
        if candidate_scoring == "shared":
            try:
                state = _SharedCausalState(model, input_ids, attention_mask, top_k, use_fast_head, max_new_tokens)
                return _decode(state, top_k, float(penalty_alpha), max_new_tokens, eos, pad_token_id,
                               logits_processor)
            except _SharedMismatchError as err:
                if not auto:
                    raise ValueError(f"candidate_scoring: 'shared' is not supported for this model ({err}); "
                                     "use 'expanded' or 'auto'") from None
        state = _CausalState(model, input_ids, attention_mask, top_k, use_fast_head, max_new_tokens)
    return _decode(state, top_k, float(penalty_alpha), max_new_tokens, eos, pad_token_id, logits_processor)


class _SharedMismatchError(Exception):
    """The shared scoring's first step disagreed with a plain forward of its last candidate
    (``_SharedCausalState._plain_last_candidate``), or failed on the 4D mask."""


def _decode(state: _CausalState | _EncDecState, k: int, penalty_alpha: float, max_new_tokens: int,
            eos: list[int], pad_token_id: int | None, logits_processor: LogitsProcessor | None) -> Tensor:
    """The decoding loop shared by decoder-only and encoder-decoder models.

    The normalised context states, their validity mask and the output ids live in buffers allocated
    once for the whole generation (step ``t`` reads views of their first ``T + t`` columns and writes
    one column): no per-step concatenation of a growing tensor.
    """
    ids0 = state.ids
    device = ids0.device
    B, S = ids0.shape
    hidden0 = state.context_hidden
    T, E = hidden0.shape[1], hidden0.shape[2]
    ctx_buf = torch.empty(B, T + max_new_tokens, E, dtype=torch.float32, device=device)
    ctx_buf[:, :T] = _normalize(hidden0.float())  # normalised once
    # Padding never enters the max (masked to the dtype minimum); generated positions are always valid.
    invalid = torch.zeros(B, 1, T + max_new_tokens, dtype=torch.bool, device=device)
    invalid[:, 0, :T] = ~state.context_valid
    has_padding = bool(invalid.any())
    ids_buf = torch.empty(B, S + max_new_tokens, dtype=ids0.dtype, device=device)
    ids_buf[:, :S] = ids0
    logits = state.logits  # (B, V) float32
    unfinished = torch.ones(B, dtype=torch.bool, device=device)
    eos_t = torch.tensor(eos, device=device, dtype=ids0.dtype) if eos else None
    if eos_t is not None and pad_token_id is None:
        raise ValueError("pad_token_id: needed when eos_token_id is set")
    rows = torch.arange(B, device=device)
    row_base = rows * k  # flat (B k) index of each row's first candidate
    neg = torch.finfo(torch.float32).min
    n_ctx, n_ids = T, S
    for step in range(max_new_tokens):
        scores = logits_processor(ids_buf[:, :n_ids], logits) if logits_processor is not None else logits
        if scores is not logits and (not isinstance(scores, Tensor) or scores.shape != logits.shape):
            raise ValueError(f"logits_processor: expected it to return a tensor of shape {tuple(logits.shape)}, got "
                             f"{getattr(scores, 'shape', type(scores).__name__)}")
        probs = torch.softmax(scores, dim=-1)
        top_p, top_ids = torch.topk(probs, dim=-1, k=k)  # (B, k)
        # A processor that forbids every token leaves NaN probabilities: no token can be chosen.
        allowed = top_p[:, 0] > 0
        if not bool(allowed.all()):
            stuck = ~allowed & unfinished
            if bool(stuck.any()):
                row = int(stuck.nonzero()[0, 0])
                raise ValueError(f"logits_processor: left no token allowed (every score -inf or NaN) in row {row} "
                                 f"at generation step {step}")
        hidden, cand_logits = state.candidates(top_ids)  # (B, k, E), (B, k, V) | None
        hid_n = _normalize(hidden.float())
        cos = torch.bmm(hid_n, ctx_buf[:, :n_ctx].transpose(1, 2))  # (B, k, T + step)
        if has_padding:
            cos.masked_fill_(invalid[:, :, :n_ctx], neg)
        penalty = cos.amax(dim=-1)
        score = (1.0 - penalty_alpha) * top_p - penalty_alpha * penalty
        # A logits processor may leave fewer than k tokens allowed: the top-k then holds p = 0
        # candidates, whose -alpha * penalty can beat an allowed one. Never pick them (transformers
        # 4.55 does; this is the one place where the two differ).
        score.masked_fill_(top_p <= 0, float("-inf"))
        selected = score.argmax(dim=-1)  # first maximum, as transformers
        flat = row_base + selected
        next_tokens = top_ids.view(-1).index_select(0, flat)
        ctx_buf[:, n_ctx] = hid_n.view(B * k, -1).index_select(0, flat)
        n_ctx += 1
        last = step == max_new_tokens - 1
        logits = state.select(selected, flat, hidden, cand_logits, keep_cache=not last)
        if eos_t is not None:
            next_tokens = torch.where(unfinished, next_tokens, torch.full_like(next_tokens, pad_token_id))
        ids_buf[:, n_ids] = next_tokens
        n_ids += 1
        if eos_t is not None:
            unfinished = unfinished & ~torch.isin(next_tokens, eos_t)
            if not bool(unfinished.any()):
                break
    return ids_buf if n_ids == ids_buf.shape[1] else ids_buf[:, :n_ids].contiguous()


def _decoder_start(model: nn.Module, B: int, device: torch.device, decoder_input_ids: Tensor | None) -> Tensor:
    if decoder_input_ids is not None:
        dec = _check_ids(decoder_input_ids, "decoder_input_ids")
        if dec.shape[0] != B:
            raise ValueError(f"decoder_input_ids: expected batch size {B} (as input_ids), got shape {tuple(dec.shape)}")
        return dec.to(device)
    start = getattr(model.generation_config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(model.config, "decoder_start_token_id", None)
    if start is None:
        raise ValueError("decoder_input_ids: the model config has no decoder_start_token_id; pass decoder_input_ids")
    return torch.full((B, 1), int(start), dtype=torch.long, device=device)


class _CausalState:
    """Prompt forward, candidate forwards and cache bookkeeping of a decoder-only model."""

    def __init__(self, model: nn.Module, input_ids: Tensor, mask: Tensor, k: int, use_fast_head: bool,
                 max_new_tokens: int) -> None:
        self.model, self.k, self.ids = model, k, input_ids
        pos = mask.cumsum(-1) - 1
        pos = pos.masked_fill(mask == 0, 1)
        self.cache_kw = _cache_kwarg(model)
        kwargs: dict[str, Any] = dict(input_ids=input_ids, attention_mask=mask, use_cache=True,
                                      output_hidden_states=True, return_dict=True)
        # A forward without a ``position_ids`` parameter (BartForCausalLM, TrOCR) numbers positions from the
        # cache length itself, as under ``generate``; passing them would raise (4.x) or be ignored (5.x).
        self.pass_positions = _accepts(model.forward, "position_ids")
        if self.pass_positions:
            kwargs["position_ids"] = pos
        kwargs[self.cache_kw] = self._prompt_cache(_new_cache(model, False), mask.shape[1] + max_new_tokens + k)
        if _accepts(model.forward, "logits_to_keep"):
            kwargs["logits_to_keep"] = 1
        out = model(**kwargs)
        self.context_hidden = out.hidden_states[-1]
        self.context_valid = mask.bool()
        self.logits = out.logits[:, -1, :].float()
        self.cache = _out_cache(out)
        if self.cache is None:
            raise ValueError(f"model: {type(model).__name__} returned no KV cache; contrastive search needs one")
        _check_kv_cache(model, self.cache)
        self.fast = _fast_head(model, self.context_hidden[:, -1], self.logits) if use_fast_head else None
        if getattr(self, "_expand", True):
            _repeat_cache(self.cache, k)
        if not getattr(self, "_expand", True):
            return
        # The (B k, T + steps) candidate mask, allocated once: step t uses its first T + t columns
        # (a view) instead of concatenating a new (B k, T + t) mask every step.
        prompt_len = mask.shape[1]
        self.full_mask = mask.new_ones(mask.shape[0] * k, prompt_len + max_new_tokens)
        self.full_mask[:, :prompt_len] = mask.repeat_interleave(k, dim=0)
        self.mask_len = prompt_len
        # Position id of the next token, a fresh tensor per step: some forwards add an offset to
        # ``position_ids`` in place (XGLM in transformers 4.x), which would shift a reused tensor.
        self.next_pos = mask.sum(-1).repeat_interleave(k)[:, None]

    def _prompt_cache(self, cache: Any, capacity: int) -> Any:
        """The empty cache the prompt forward fills (a hook for the shared-cache state)."""
        return cache

    def candidates(self, top_ids: Tensor) -> tuple[Tensor, Tensor | None]:
        B, k = top_ids.shape
        self.mask_len += 1
        mask = self.full_mask[:, : self.mask_len]
        kwargs: dict[str, Any] = dict(input_ids=top_ids.reshape(-1, 1), attention_mask=mask, use_cache=True,
                                      return_dict=True)
        if self.pass_positions:
            kwargs["position_ids"] = self.next_pos.clone()
        hidden, logits = self._forward(kwargs)
        self.next_pos = self.next_pos + 1
        return hidden.view(B, k, -1), None if logits is None else logits.view(B, k, -1)

    def _chosen_logits(self, flat: Tensor, hidden: Tensor, cand_logits: Tensor | None) -> Tensor:
        """Next-token logits ``(B, V)`` (float32) of each row's chosen candidate (``flat``: its ``(B k)`` row
        index): from the candidate forward's logits, or, with the fast head, the LM head applied to the
        chosen rows' hidden states only."""
        if cand_logits is None:
            return self.fast[1](hidden.reshape(-1, hidden.shape[-1]).index_select(0, flat)).float()  # type: ignore[index]
        return cand_logits.reshape(-1, cand_logits.shape[-1]).index_select(0, flat).float()

    def _forward(self, kwargs: dict[str, Any]) -> tuple[Tensor, Tensor | None]:
        """One candidate forward against the cache: last hidden states and, without the fast head, the
        logits (the fast head computes logits only for the chosen rows); the cache is updated."""
        kwargs[self.cache_kw] = self.cache
        if self.fast is not None:
            out = self.fast[0](**kwargs)
            hidden, logits = out.last_hidden_state, None
        else:
            out = self.model(**kwargs, output_hidden_states=True)
            hidden, logits = out.hidden_states[-1], out.logits
        self.cache = _out_cache(out)
        return hidden, logits

    def select(self, selected: Tensor, flat: Tensor, hidden: Tensor, cand_logits: Tensor | None,
               keep_cache: bool) -> Tensor:
        logits = self._chosen_logits(flat, hidden, cand_logits)
        if keep_cache:
            # "keep the chosen row, then expand k times" as one gather per layer
            _select_cache(self.cache, flat.repeat_interleave(hidden.shape[1]))
        return logits


class _SharedCausalState(_CausalState):
    """Decoder-only candidates scored against one shared (unexpanded) KV cache.

    Step with cache length ``L``: the ``k`` candidates of row ``b`` are ``k`` query tokens at the
    same position; the additive 4D mask ``(B, 1, k, L + k)`` opens the row's valid cache entries
    and, in the last ``k`` columns, the diagonal only (each candidate sees itself, never another
    candidate). The mask is a view of one buffer allocated for the whole generation: after a step
    only columns ``L`` (now the chosen token, open to every query) to ``L + k`` (the next diagonal)
    are rewritten, in one copy. Every layer's keys and values live in one slab (``_slab_cache``; on
    transformers 5.x the prompt forward already writes into it, ``_PromptSlab``): after the choice,
    the entries at ``L + selected`` of all layers are copied to ``L`` with one gather and one strided
    copy (flat indices advanced in place) and the cache length becomes ``L + 1``.
    """

    def __init__(self, model: nn.Module, input_ids: Tensor, mask: Tensor, k: int, use_fast_head: bool,
                 max_new_tokens: int) -> None:
        self._expand = False
        super().__init__(model, input_ids, mask, k, use_fast_head, max_new_tokens)
        B, T = mask.shape
        device = mask.device
        dtype = next(model.parameters()).dtype
        neg = torch.finfo(dtype).min
        total = T + max_new_tokens + k
        eye_add = torch.full((k, k), neg, dtype=dtype, device=device).fill_diagonal_(0.0)
        # Columns L .. L + k after a step: the chosen token (0, open to every candidate), then the diagonal.
        self.step_cols = torch.cat([eye_add.new_zeros(k, 1), eye_add], dim=1)
        self.add_mask = torch.full((B, 1, k, total), neg, dtype=dtype, device=device)
        self.add_mask[:, 0, :, :T] = torch.zeros((), dtype=dtype, device=device).masked_fill(
            mask[:, None, :] == 0, neg)
        self.add_mask[:, 0, :, T:T + k] = eye_add
        self.positions = torch.arange(total, device=device)
        self.rows = torch.arange(B, device=device)
        self.prompt_len = T
        self.length = T
        # The first candidate forward is checked against a plain one, except for the stock
        # architectures whose shared scoring the parity suite compares with transformers' ids.
        self.verified = _parity_tested(model)
        # Position ids of every step's candidates, (steps, B, k): one view per step, no per-step add.
        steps = torch.arange(max_new_tokens + 1, device=device)
        self.step_pos = (mask.sum(-1)[None, :, None] + steps[:, None, None]).expand(-1, B, k).contiguous()
        prompt_slab, self._prompt_slab = self._prompt_slab, None
        self.slab = prompt_slab.finish(self.cache) if prompt_slab is not None else None
        if self.slab is None:  # the prompt's keys and values did not go to a slab: move them into one
            self.slab = _slab_cache(self.cache, T + max_new_tokens + k, self.slab_len)
        if self.slab is not None:
            _, n_kv, H, cap, d = self.slab.shape  # (B, 2 layers, H, capacity, head_dim)
            self.slab_rows = self.slab.view(-1, d)
            # (B, 2 layers H) flat index of each (row, layer tensor, head)'s entry at the cache length,
            # advanced in place each step.
            self.slab_dst = torch.arange(B * n_kv * H, device=device).view(B, -1) * cap + T
            self.slab_moved = self.slab_rows.new_empty(B * n_kv * H, d)
            self.slab_moved_5d = self.slab_moved.view(B, n_kv, H, d)

    def _prompt_cache(self, cache: Any, capacity: int) -> Any:
        self.slab_len = [self.ids.shape[1]]  # the slab layers' write position (see _slab_cache), shared by every layer
        n_layers = getattr(getattr(self.model, "config", None), "num_hidden_layers", None)
        self._prompt_slab = _PromptSlab.install(cache, capacity, self.slab_len, n_layers)
        return cache

    def candidates(self, top_ids: Tensor) -> tuple[Tensor, Tensor | None]:
        k = top_ids.shape[1]
        L = self.length
        kwargs: dict[str, Any] = dict(input_ids=top_ids, attention_mask=self.add_mask[..., : L + k],
                                      position_ids=self.step_pos[L - self.prompt_len], use_cache=True,
                                      return_dict=True, cache_position=self.positions[L: L + k])
        if self.verified:
            return self._forward(kwargs)
        self.verified = True
        try:
            reference = self._plain_last_candidate(top_ids)
            hidden, logits = self._forward(kwargs)
        except Exception as err:  # noqa: BLE001 - any failure here means "not supported" ("auto": expanded)
            raise _SharedMismatchError(f"its forward failed on a 4D attention mask: {type(err).__name__}: "
                                       f"{str(err).splitlines()[0] if str(err) else ''}") from err
        got = hidden[:, -1].float()
        # fp32: the 2D and 4D mask paths differ by rounding only; 16-bit activations round far more coarsely.
        tol = 1e-3 if hidden.dtype in (torch.float32, torch.float64) else 5e-2
        rel = float((got - reference).abs().amax()) / max(float(reference.abs().amax()), 1e-6)
        if not rel <= tol:  # also catches NaN
            raise _SharedMismatchError(f"its hidden state of a candidate under the 4D mask differs from a plain "
                                       f"forward by {rel:.2g} relative: the model does not apply the mask as given")
        return hidden, logits

    def _plain_last_candidate(self, top_ids: Tensor) -> Tensor:
        """Last hidden state ``(B, E)`` of each row's last candidate fed alone with a 2D mask, the way the
        expanded scoring (and ``generate``) feeds it; the cache is then put back to length ``L``.

        Run once, before the first shared forward: a model that ignores, inverts or reshapes a 4D mask,
        or numbers positions from the cache length, gives that candidate another hidden state under the
        shared mask (the last candidate is the one every such defect reaches), so the shared mode is refused
        instead of silently choosing other tokens. The probe writes its keys and values at ``L``, which the
        shared forward then overwrites.
        """
        L = self.length
        valid = self.context_valid.long()
        mask2d = torch.cat([valid, valid.new_ones(top_ids.shape[0], 1)], dim=1)
        kwargs: dict[str, Any] = dict(input_ids=top_ids[:, -1:], attention_mask=mask2d,
                                      position_ids=self.step_pos[0][:, -1:].clone(), use_cache=True,
                                      return_dict=True, cache_position=self.positions[L: L + 1])
        hidden, _ = self._forward(kwargs)
        if self.slab is not None:  # the slab layers append at ``slab_len`` (still L): only the views grew
            for layer in self.cache.layers:
                keys, values = layer._ck_slab
                layer.keys, layer.values = keys[:, :, :L], values[:, :, :L]
        else:
            self.cache.crop(L)
        return hidden[:, -1].float()

    def select(self, selected: Tensor, flat: Tensor, hidden: Tensor, cand_logits: Tensor | None,
               keep_cache: bool) -> Tensor:
        logits = self._chosen_logits(flat, hidden, cand_logits)
        if keep_cache:
            L = self.length
            k = hidden.shape[1]
            if self.slab is not None:  # every layer's keys and values in one tensor: one gather + copy
                # Flat row indices into the (B 2layers H capacity, d) view: cheaper than advanced
                # indexing with two index tensors on a 5-D strided tensor.
                src = torch.add(self.slab_dst, selected.view(-1, 1)).view(-1)
                torch.index_select(self.slab_rows, 0, src, out=self.slab_moved)
                self.slab.select(3, L).copy_(self.slab_moved_5d)  # a strided copy: cheaper than index_copy_
                self.slab_dst.add_(1)
                self.slab_len[0] = L + 1  # where the next forward's k entries go in every layer
                # Only layer 0 is cropped: ``cache.get_seq_length()`` reads it; every other layer's view
                # (still ending at L + k) is replaced by its next update, which writes at ``slab_len``.
                layer = self.cache.layers[0]
                keys, values = layer._ck_slab
                layer.keys, layer.values = keys[:, :, : L + 1], values[:, :, : L + 1]
            else:
                _move_chosen(_kv_tensors(self.cache), self.rows, selected, L)
                if k > 1:  # a negative argument removes that many entries in transformers 4.x and 5.x
                    self.cache.crop(-(k - 1))
            self.add_mask[..., L: L + 1 + k] = self.step_cols
            self.length = L + 1
        return logits


def _slab_cache(cache: Any, capacity: int, length: list[int]) -> Tensor | None:
    """Move a dynamic cache's keys and values into one preallocated ``(B, 2 layers, H, capacity, d)``
    tensor and make each layer append into it in place; ``None`` (cache left as is) when the layers'
    shapes differ or the cache has no per-layer ``keys`` / ``values``.

    A dynamic cache concatenates every layer's keys and values with the new entries at each step (a
    copy of the whole cache); here a step writes only the ``k`` new entries, the layers' tensors are
    views of the slab and the chosen candidate's entries of all layers move in one indexing operation.
    Every layer appends at ``length[0]`` (the caller's cache length, a list shared by the layers), so a
    step shortens the cache by setting one number instead of re-slicing every layer's views.
    """
    layers = getattr(cache, "layers", None)
    if not layers or not all(isinstance(getattr(la, "keys", None), Tensor) and isinstance(
            getattr(la, "values", None), Tensor) and type(la).__name__ == "DynamicLayer" for la in layers):
        return None
    shape, dtype = layers[0].keys.shape, layers[0].keys.dtype
    if len(shape) != 4 or any(la.keys.shape != shape or la.values.shape != shape or la.keys.dtype != dtype
                              for la in layers):
        return None
    B, H, T, d = shape
    slab = layers[0].keys.new_empty(B, 2 * len(layers), H, capacity, d)
    for i, layer in enumerate(layers):
        keys, values = slab[:, 2 * i], slab[:, 2 * i + 1]
        keys[:, :, :T] = layer.keys
        values[:, :, :T] = layer.values
        layer.keys, layer.values = keys[:, :, :T], values[:, :, :T]
        layer.update = _slab_update.__get__(layer)  # this instance only
        layer._ck_slab = (keys, values)
        layer._ck_len = length
    return slab


class _PromptSlab:
    """Lets the prompt forward write each layer's keys and values straight into the slab (see
    ``_slab_cache``) instead of into a fresh concatenation that would then be copied into it.

    Only for a cache whose ``DynamicLayer``s all exist before the forward (transformers 5.x). The slab is
    allocated at the first layer's update, from its key shape; a layer whose keys or values differ in
    shape or dtype takes the layer's own update, and ``finish`` then gives every layer its own copy
    back and returns ``None`` (the caller falls back to ``_slab_cache``).
    """

    def __init__(self, layers: list[Any], capacity: int, length: list[int]) -> None:
        self.layers, self.capacity, self.length = layers, capacity, length
        self.slab: Tensor | None = None
        self.failed = False
        self.filled = 0

    @classmethod
    def install(cls, cache: Any, capacity: int, length: list[int], n_layers: int | None) -> _PromptSlab | None:
        """Patch ``cache``'s layers when there is one empty ``DynamicLayer`` per model layer, else ``None``."""
        layers = getattr(cache, "layers", None)
        if not layers or len(layers) != n_layers or not all(
                type(la).__name__ == "DynamicLayer" and getattr(la, "keys", None) is None for la in layers):
            return None
        box = cls(list(layers), capacity, length)
        for i, layer in enumerate(layers):
            layer._ck_prompt = (box, i)
            layer.update = _prompt_slab_update.__get__(layer)  # this instance only
        return box

    def _fits(self, key_states: Tensor, value_states: Tensor) -> bool:
        if self.failed or key_states.dim() != 4 or value_states.shape != key_states.shape:
            return False
        B, H, T, d = key_states.shape
        if self.slab is None:
            self.slab = key_states.new_empty(B, 2 * len(self.layers), H, self.capacity, d)
        slab = self.slab
        same_kind = key_states.dtype == value_states.dtype == slab.dtype and key_states.device == slab.device
        return same_kind and (slab.shape[0], slab.shape[2], slab.shape[4]) == (B, H, d) and self.capacity >= T

    def finish(self, cache: Any) -> Tensor | None:
        """After the prompt forward: the slab, every layer appending into it; or ``None``, layers restored."""
        layers = list(getattr(cache, "layers", None) or ())
        ok = not self.failed and self.filled == len(self.layers) == len(layers) and all(
            a is b for a, b in zip(layers, self.layers, strict=True))
        for layer in self.layers:
            layer.__dict__.pop("update", None)
            layer.__dict__.pop("_ck_prompt", None)
            if ok:
                layer.update = _slab_update.__get__(layer)
                layer._ck_len = self.length
            elif "_ck_slab" in layer.__dict__:  # give the layer its own tensors again
                del layer._ck_slab
                layer.keys, layer.values = layer.keys.clone(), layer.values.clone()
        return self.slab if ok else None


def _prompt_slab_update(layer: Any, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any
                        ) -> tuple[Tensor, Tensor]:
    """The prompt forward's ``DynamicLayer.update`` (see ``_PromptSlab``)."""
    box, i = layer._ck_prompt
    base = type(layer).update
    if "_ck_slab" in layer.__dict__ or not box._fits(key_states, value_states):  # a second call, or no fit
        box.failed = True
        return base(layer, key_states, value_states, *args, **kwargs)
    # The layer's own bookkeeping (dtype, device, initialised flag) from an empty update: no copy.
    base(layer, key_states[:, :, :0], value_states[:, :, :0], *args, **kwargs)
    T = key_states.shape[2]
    keys, values = box.slab[:, 2 * i], box.slab[:, 2 * i + 1]  # type: ignore[index]
    keys[:, :, :T] = key_states
    values[:, :, :T] = value_states
    layer.keys, layer.values = keys[:, :, :T], values[:, :, :T]
    layer._ck_slab = (keys, values)
    box.filled += 1
    return layer.keys, layer.values


def _slab_update(layer: Any, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any
                 ) -> tuple[Tensor, Tensor]:
    """``DynamicLayer.update`` writing into the slab (see ``_slab_cache``) instead of concatenating."""
    keys, values = layer._ck_slab
    n = layer._ck_len[0]
    q = key_states.shape[-2]
    keys[:, :, n:n + q] = key_states
    values[:, :, n:n + q] = value_states
    layer.keys, layer.values = keys[:, :, : n + q], values[:, :, : n + q]
    return layer.keys, layer.values


def _move_chosen(tensors: list[Tensor], rows: Tensor, selected: Tensor, L: int) -> None:
    """Copy each row's entry ``L + selected[row]`` to ``L`` along dim 2 of every ``(B, H, L', d)`` tensor.

    A contiguous tensor is viewed as ``(B H L', d)`` rows and moved with one ``index_select`` +
    ``index_copy_`` whose flat indices are built once per shape (cheaper than advanced indexing
    with two index tensors, repeated for every layer).
    """
    flat: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
    for t in tensors:
        if not t.is_contiguous():
            t[:, :, L] = t[rows, :, L + selected]
            continue
        B, H, Lc, d = t.shape
        key = (H, Lc)
        if key not in flat:
            base = torch.arange(B * H, device=t.device).view(B, H) * Lc
            flat[key] = ((base + L).reshape(-1), (base + (L + selected)[:, None]).reshape(-1))
        dst, src = flat[key]
        view = t.view(-1, d)
        view.index_copy_(0, dst, view.index_select(0, src))


def _kv_tensors(cache: Any) -> list[Tensor]:
    """Every layer's key and value tensor ``(B, H, L, head_dim)`` of a dynamic cache."""
    layers = getattr(cache, "layers", None)
    if layers is not None and hasattr(cache, "crop"):
        return [t for layer in layers for t in (layer.keys, layer.values)]
    if hasattr(cache, "key_cache") and hasattr(cache, "crop"):  # transformers < 4.54
        return [*cache.key_cache, *cache.value_cache]
    raise TypeError(f"model: candidate_scoring='shared' needs a dynamic cache with crop(), got {type(cache).__name__}")


# ``config.model_type`` of the transformers architectures whose shared scoring ``tests/hf4`` checks
# token for token against transformers 4.55.4's ``generate`` (and the default suite against the
# expanded scoring): these skip the first-step check, which costs one extra forward per call.
PARITY_TESTED_TYPES = frozenset(
    {"gpt2", "llama", "qwen2", "phi3", "gpt_neox", "gemma", "stablelm", "falcon", "gptj", "opt"})


def _parity_tested(model: nn.Module) -> bool:
    """A stock transformers class (not remote or user code) of a :data:`PARITY_TESTED_TYPES` type."""
    config = getattr(model, "config", None)
    return (type(model).__module__.startswith("transformers.models.")
            and getattr(config, "model_type", None) in PARITY_TESTED_TYPES)


def _shared_unsupported(config: Any) -> str | None:
    """Why ``candidate_scoring="shared"`` cannot score this decoder-only model, or ``None``.

    The shared mode passes its own full-context 4D mask and reuses one cache of every position, so
    it is wrong for sliding-window / chunked attention (the model's window is not applied to the
    4D mask, and a sliding cache drops entries the mask still addresses) and fails for models that
    build ALiBi biases from a 2D mask.
    """
    layer_types = getattr(config, "layer_types", None) or ()
    if any(t != "full_attention" for t in layer_types):
        return "it has sliding-window or chunked attention layers"
    if getattr(config, "sliding_window", None) is not None and getattr(config, "use_sliding_window", True) is not False:
        return "it has sliding-window attention"
    if getattr(config, "attention_chunk_size", None) is not None:
        return "it has chunked attention"
    # GPT-Neo's local layers slice their window from a causal buffer by key and query length, which puts the
    # k candidates of one position at k different positions: each would lose a different part of its window.
    if any(t == "local" for t in getattr(config, "attention_layers", None) or ()):
        return "it has local (windowed) attention layers"
    # Llama 4's NoPE layers scale queries by ``cache.get_seq_length(layer_idx) + arange(q)``: the k candidates
    # would get k scales, and layers 1..n read a length the shared cache leaves stale (L + k - 1) between steps.
    no_rope = getattr(config, "no_rope_layers", None) or ()
    if bool(getattr(config, "attn_temperature_tuning", False)) and any(not flag for flag in no_rope):
        return "its NoPE layers scale queries by a position read from each layer's cache length"
    if getattr(config, "model_type", None) in ("bloom", "mpt") or bool(getattr(config, "alibi", False)):
        return "it builds ALiBi biases from a 2D attention mask"
    return None


_BINARY_4D_MASK = "_prepare_4d_causal_attention_mask"


def _binary_4d_mask(model: nn.Module) -> str | None:
    """Why this model would misread the shared mode's additive 4D mask, or ``None``.

    transformers 4.x's ``_prepare_4d_causal_attention_mask`` (still called by XGLM, TrOCR, MVP and MPT in 4.55)
    reads a 4D mask as 0/1 and inverts it, so an additive mask (0 keeps, dtype minimum masks) would mask
    every key. Found from the names the forwards of the model's module classes call (no source read).
    """
    seen: set[type] = set()
    for module in model.modules():
        cls = type(module)
        if cls in seen:
            continue
        seen.add(cls)
        code = getattr(inspect.unwrap(cls.forward), "__code__", None)
        if code is not None and _BINARY_4D_MASK in code.co_names:
            return f"{cls.__name__} reads a 4D attention mask as 0/1 ({_BINARY_4D_MASK})"
    return None


def _no_position_ids(model: nn.Module) -> str | None:
    """Why the shared mode cannot place this model's candidates, or ``None``: a forward without a named
    ``position_ids`` parameter numbers the ``k`` query tokens ``L .. L + k - 1`` from the cache length, so the
    candidates of one position would be scored at ``k`` different positions."""
    if _accepts(model.forward, "position_ids"):
        return None
    return f"{type(model).__name__}.forward takes no position_ids, so the k candidates cannot share one position"


def _input_vocab(model: nn.Module) -> int | None:
    """Rows of the (decoder) input embedding table: ids outside ``[0, n)`` would fail inside the model."""
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    n = getattr(emb, "num_embeddings", None)
    return int(n) if isinstance(n, int) else None


_POSITION_TABLES = ("wpe", "embed_positions", "position_embeddings")


def _learned_positions(model: nn.Module) -> int | None:
    """Positions a fixed-size position table serves, else ``None`` (rotary / ALiBi / growing sinusoidal).

    GPT-2 / GPT-Neo / BigCode ``wpe``; OPT / BioGPT / Bart / TrOCR ``embed_positions`` (an embedding whose
    first ``offset`` rows are reserved); CodeGen's per-layer sinusoidal ``embed_positions`` tensor; BERT-style
    ``position_embeddings``. Past it the model raised an IndexError from inside the embedding.
    """
    sizes = []
    for module in model.modules():
        for attr in _POSITION_TABLES:
            # a submodule, a registered buffer (CodeGen 5.x) or a plain tensor attribute (CodeGen 4.x)
            table = module._modules.get(attr, module._buffers.get(attr, module.__dict__.get(attr)))
            if isinstance(table, nn.Embedding):
                sizes.append(table.num_embeddings - int(getattr(table, "offset", 0) or 0))
            elif isinstance(table, Tensor) and table.dim() == 2:  # CodeGen / GPT-J: (positions, rotary_dim)
                sizes.append(table.shape[0])
    return min(sizes) if sizes else None


def _transformers_version() -> tuple[int, int]:
    import transformers

    major, minor = transformers.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


class _EncDecState:
    """Same bookkeeping for an encoder-decoder model (decoder-side context and cache)."""

    def __init__(self, model: nn.Module, input_ids: Tensor, mask: Tensor, decoder_input_ids: Tensor | None,
                 encoder_outputs: Any | None, k: int) -> None:
        self.model, self.k = model, k
        B = input_ids.shape[0]
        if encoder_outputs is None:
            encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=mask, return_dict=True)
        enc_h = encoder_outputs[0]
        self.ids = _decoder_start(model, B, input_ids.device, decoder_input_ids)
        self.cache_kw = _cache_kwarg(model)
        out = model(encoder_outputs=(enc_h,), attention_mask=mask, decoder_input_ids=self.ids, use_cache=True,
                    output_hidden_states=True, return_dict=True, **{self.cache_kw: _new_cache(model, True)})
        self.context_hidden = out.decoder_hidden_states[-1]
        self.context_valid = torch.ones_like(self.ids, dtype=torch.bool)
        self.logits = out.logits[:, -1, :].float()
        self.cache = _out_cache(out)
        if self.cache is None:
            raise ValueError(f"model: {type(model).__name__} returned no KV cache; contrastive search needs one")
        _repeat_cache(self.cache, k)
        self.enc_h = enc_h.repeat_interleave(k, dim=0)
        self.enc_mask = mask.repeat_interleave(k, dim=0)

    def candidates(self, top_ids: Tensor) -> tuple[Tensor, Tensor]:
        B, k = top_ids.shape
        out = self.model(encoder_outputs=(self.enc_h,), attention_mask=self.enc_mask,
                         decoder_input_ids=top_ids.reshape(-1, 1), use_cache=True,
                         output_hidden_states=True, return_dict=True, **{self.cache_kw: self.cache})
        self.cache = _out_cache(out)
        return out.decoder_hidden_states[-1].view(B, k, -1), out.logits.view(B, k, -1)

    def select(self, selected: Tensor, flat: Tensor, hidden: Tensor, cand_logits: Tensor, keep_cache: bool) -> Tensor:
        if keep_cache:
            _select_cache(self.cache, flat.repeat_interleave(hidden.shape[1]))
        return cand_logits.reshape(-1, cand_logits.shape[-1]).index_select(0, flat).float()


def _cache_kwarg(model: nn.Module) -> str:
    """transformers 5.x renamed ``past_key_values`` to ``cache``."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _out_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


def _new_cache(model: nn.Module, encoder_decoder: bool) -> Any:
    """An empty dynamic cache (transformers 4.x returns legacy tuples unless given one)."""
    from transformers import DynamicCache

    def dynamic() -> Any:
        try:
            cache = DynamicCache(config=model.config)
        except (TypeError, AttributeError, ValueError):
            return DynamicCache()
        # A decoder-only use of an encoder-decoder config (BartForCausalLM) sizes the cache from the encoder's
        # layer count: its decoder would index past the preallocated layers. A lazily grown cache fits any model.
        n_dec = getattr(model.config, "decoder_layers", None)
        layers = getattr(cache, "layers", None)
        if not encoder_decoder and isinstance(n_dec, int) and layers and len(layers) != n_dec:
            return DynamicCache()
        return cache

    if not encoder_decoder:
        return dynamic()
    from transformers import EncoderDecoderCache

    return EncoderDecoderCache(dynamic(), dynamic())


def _check_kv_cache(model: nn.Module, cache: Any) -> None:
    """One clear error for a cache that holds no attention keys and values in some layer (Mamba, hybrid
    recurrent models): neither scoring mode can copy or select such a state per candidate."""
    for layer in getattr(cache, "layers", None) or ():
        keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
        if not (isinstance(keys, Tensor) and isinstance(values, Tensor)):
            raise ValueError(f"model: {type(model).__name__} keeps a {type(layer).__name__} state, not attention keys "
                             "and values; contrastive search needs a key/value cache in every layer")


def _repeat_cache(cache: Any, k: int) -> None:
    if hasattr(cache, "batch_repeat_interleave"):
        cache.batch_repeat_interleave(k)
        return
    raise TypeError(f"model: unsupported cache type {type(cache).__name__} (needs batch_repeat_interleave)")


def _select_cache(cache: Any, index: Tensor) -> None:
    if hasattr(cache, "batch_select_indices"):
        cache.batch_select_indices(index)
        return
    raise TypeError(f"model: unsupported cache type {type(cache).__name__} (needs batch_select_indices)")


def hf_custom_generate(
    model: nn.Module,
    input_ids: Tensor,
    logits_processor: Any = None,
    stopping_criteria: Any = None,
    generation_config: Any = None,
    synced_gpus: bool = False,
    streamer: Any = None,
    **model_kwargs: Any,
) -> Tensor:
    """Adapter for transformers 5.x ``model.generate(..., custom_generate=hf_custom_generate)``.

    Reads ``top_k``, ``penalty_alpha``, ``max_length`` / ``max_new_tokens``, ``eos_token_id`` and
    ``pad_token_id`` from the prepared ``generation_config`` and applies ``generate``'s logits
    processors. Stopping criteria other than length and EOS are not supported.
    """
    if streamer is not None:
        raise ValueError("streamer: not supported by contrastkit's contrastive search")
    cfg = generation_config
    top_k = cfg.top_k if cfg.top_k is not None else 4
    alpha = cfg.penalty_alpha if cfg.penalty_alpha is not None else 0.6
    is_enc_dec = bool(getattr(model.config, "is_encoder_decoder", False))
    length_left = max(int(cfg.max_length) - input_ids.shape[1], 0)
    max_new = cfg.max_new_tokens if cfg.max_new_tokens is not None else length_left
    eos = getattr(cfg, "_eos_token_tensor", None)
    eos = cfg.eos_token_id if eos is None else eos
    pad = getattr(cfg, "_pad_token_tensor", None)
    pad = cfg.pad_token_id if pad is None else int(pad)
    processor = logits_processor if logits_processor is not None and len(logits_processor) > 0 else None
    eos_ids = _eos_list(eos)
    if pad is None and eos_ids:
        pad = eos_ids[0]
    if max_new == 0:
        return input_ids
    if is_enc_dec:
        enc = model_kwargs["encoder_outputs"]
        mask = model_kwargs.get("attention_mask")
        if mask is None:
            mask = torch.ones(enc[0].shape[:2], dtype=torch.long, device=input_ids.device)
        state: _CausalState | _EncDecState = _EncDecState(model, mask, mask, input_ids, enc, top_k)
        return _decode(state, top_k, float(alpha), max_new, eos_ids, pad, processor)
    return contrastive_search(model, input_ids, model_kwargs.get("attention_mask"), top_k, alpha, max_new,
                              [] if eos is None else eos, pad, logits_processor=processor)
