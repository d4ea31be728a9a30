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
chosen candidate's keys and values. Compared with the 4.55 implementation the decode loop keeps the
context hidden states L2-normalised once and scores the penalty with a ``(B, k, T)`` batched matmul
instead of a ``k``-times repeated context.

This module holds the public API (``contrastive_search``, ``hf_custom_generate``), the argument checks
and the decode loop. The rest, imported downward: ``decoding_state.py`` (prompt and candidate forwards,
the expanded scoring), ``shared_cache.py`` (the shared scoring), ``shared_support.py`` (which models the
shared scoring may serve) and ``hf_cache.py`` (transformers cache plumbing).

One deliberate divergence from transformers: a candidate of probability 0 (a token a logits processor
forbade, present in the top-k only because fewer than ``k`` tokens are allowed) is never selected;
transformers can select it when its degeneration penalty is low enough.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.generation.decoding_state import _CausalState, _check_ids, _decoder_start, _EncDecState
from contrastkit.generation.hf_cache import _transformers_version
from contrastkit.generation.shared_cache import _SharedCausalState, _SharedMismatchError
from contrastkit.generation.shared_support import PARITY_TESTED_TYPES as PARITY_TESTED_TYPES  # re-exported
from contrastkit.generation.shared_support import _binary_4d_mask, _no_position_ids, _shared_unsupported

__all__ = ["contrastive_search", "hf_custom_generate"]

LogitsProcessor = Callable[[Tensor, Tensor], Tensor]


def _normalize(h: Tensor) -> Tensor:
    # Same expression as transformers' ``_ranking_fast`` so that cosines agree bit for bit.
    return h / h.norm(dim=-1, keepdim=True)


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
