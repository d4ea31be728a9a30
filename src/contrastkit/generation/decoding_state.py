"""Contrastive search's per-model decoding state, with the candidates scored against an expanded cache.

A state runs the prompt forward, each step's one batched forward of the ``B * k`` candidates and the
KV-cache bookkeeping, for the decode loop in ``contrastive_search.py``. ``_CausalState`` (decoder-only)
and ``_EncDecState`` (encoder-decoder, decoder-side context and cache) score the candidates against the
cache expanded ``k`` times (``candidate_scoring="expanded"``, as transformers 4.55). Compared with the 4.55
implementation they fuse "select + re-expand" into one gather, and (for decoder-only models whose logits
are ``lm_head(last hidden)``, checked at run time) run the LM head on the chosen candidate only.
``_CausalState`` is also the base of the shared-cache state (``shared_cache.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.generation.hf_cache import (
    _accepts,
    _cache_kwarg,
    _check_kv_cache,
    _new_cache,
    _out_cache,
    _repeat_cache,
    _select_cache,
)


def _check_ids(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of token ids, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (batch, length) tensor, got shape {tuple(x.shape)}")
    # Embedding lookups take int64 / int32 indices only: int8, uint8 and int16 ids failed inside the model.
    if x.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{name}: expected an int64 or int32 tensor of token ids, got {x.dtype}")
    return x


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
