"""transformers plumbing shared by the generation modules, across transformers 4.x and 5.x.

Which keywords a model's forward names, the cache keyword and output attribute (5.x renamed
``past_key_values`` to ``cache``), an empty dynamic cache, the KV-cache check and the batch operations on
a cache (repeat each row ``k`` times, select rows), and the installed transformers version. No decoding
logic: the bottom of the generation modules' imports.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    # A named parameter only: some forwards take ``**deprecated_arguments`` and raise on any unknown
    # keyword (Bloom in transformers 4.x), so ``**kwargs`` is no promise that ``name`` is understood.
    return name in params


def _transformers_version() -> tuple[int, int]:
    import transformers

    major, minor = transformers.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


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
