"""Whether contrastive search may score a decoder-only model's candidates against one shared KV cache.

``candidate_scoring="shared"`` passes its own full-context 4D mask, reuses one cache of every position and
gives the ``k`` candidates of a row one position. The static checks here name what that cannot serve
(sliding-window, chunked or local attention, ALiBi, Llama 4's temperature-tuned NoPE layers, transformers
4.x forwards that read a 4D mask as 0/1, forwards without ``position_ids``); ``"auto"`` then uses the
expanded scoring. :data:`PARITY_TESTED_TYPES` names the architectures whose stock classes skip the shared
scoring's first-step check against a plain forward.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from contrastkit.generation.hf_cache import _accepts

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
