"""``contrastkit embed`` and ``contrastkit search``: a text file to a safetensors index, and top-k search of it.

The index file (``contrastkit-text-index/1``) is one safetensors file holding

- ``embeddings``: ``(n, d)`` float32, L2-normalised sentence embeddings;
- ``texts_utf8`` / ``texts_offsets``: the texts as UTF-8 bytes and ``(n + 1,)`` int64 offsets, so that
  ``search`` prints the texts it finds;

and, in its metadata, the encoder folder, pooling and max length, so that ``search`` encodes the query with
the same model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

INDEX_FORMAT = "contrastkit-text-index/1"


def read_texts(file: str | os.PathLike[str]) -> list[str]:
    """One text per line of a UTF-8 file (a final newline is fine). Raises ``ValueError`` naming ``FILE``
    for an empty file or an empty / blank line, ``FileNotFoundError`` when it does not exist."""
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"FILE: {path} is not a file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"FILE: {path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not lines:
        raise ValueError(f"FILE: {path} holds no texts (empty corpus)")
    for i, line in enumerate(lines):
        if not line.strip():
            raise ValueError(f"FILE: line {i + 1} of {path} is empty; give one non-empty text per line")
    return lines


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _load_encoder(model: str | None, max_length: int):  # type: ignore[no-untyped-def]
    from contrastkit.text.encoder import TextEncoder

    _quiet_transformers()
    try:
        return TextEncoder.from_pretrained(model, max_length=max_length)
    except ValueError as err:
        raise ValueError(f"--model: {str(err).removeprefix('path: ')}") from None


def embed_command(model: str | None, file: str, out: str, *, batch_size: int = 64, max_length: int = 128,
                  progress: bool = True) -> Path:
    """Encode every line of ``file`` with ``model`` (``None``: the packaged MiniLM) and write the index ``out``."""
    from safetensors.torch import save_file

    if batch_size < 1:
        raise ValueError(f"--batch-size: expected an integer >= 1, got {batch_size}")
    if max_length < 1:
        raise ValueError(f"--max-length: expected an integer >= 1, got {max_length}")
    texts = read_texts(file)
    out_path = Path(out)
    if out_path.is_dir():
        raise ValueError(f"--out: {out_path} is a folder; expected a file name such as emb.safetensors")
    encoder = _load_encoder(model, max_length)
    emb = encoder.encode(texts, batch_size=batch_size, normalize=True, progress=progress)
    raw = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in raw])
    blob = np.frombuffer(b"".join(raw), dtype=np.uint8).copy()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": INDEX_FORMAT, "model": str(encoder.source), "pooling": encoder.pooling,
                "max_length": str(encoder.max_length)}
    save_file({"embeddings": emb.contiguous(), "texts_utf8": torch.from_numpy(blob),
               "texts_offsets": torch.from_numpy(offsets)}, str(out_path), metadata=metadata)
    return out_path


def read_index(index: str | os.PathLike[str]) -> tuple[torch.Tensor, list[str], dict[str, str]]:
    """``(embeddings, texts, metadata)`` of an index written by :func:`embed_command`."""
    from safetensors import SafetensorError, safe_open

    path = Path(index)
    if not path.is_file():
        raise FileNotFoundError(f"--index: {path} is not a file")
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            if metadata.get("format") != INDEX_FORMAT:
                raise ValueError(f"--index: {path} is not a contrastkit text index (format "
                                 f"{metadata.get('format')!r}, expected {INDEX_FORMAT!r}); write one with "
                                 "`contrastkit embed`")
            emb = fh.get_tensor("embeddings")
            blob = fh.get_tensor("texts_utf8").numpy().tobytes()
            offsets = fh.get_tensor("texts_offsets").tolist()
    except (SafetensorError, OSError) as err:
        raise ValueError(f"--index: {path} is not a readable safetensors file ({err})") from None
    texts = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]
    if emb.dim() != 2 or emb.shape[0] != len(texts) or emb.shape[0] == 0:
        raise ValueError(f"--index: {path} is inconsistent ({tuple(emb.shape)} embeddings, {len(texts)} texts)")
    return emb, texts, metadata


def search_command(index: str, query: str, *, k: int = 5, model: str | None = None) -> list[tuple[int, float, str]]:
    """Top-``k`` ``(row, cosine, text)`` of ``query`` in ``index`` (the query is encoded by the index's model,
    or by ``model``). Raises ``ValueError`` for an empty query or ``k`` above the corpus size."""
    from contrastkit.evaluate.corpus_retrieval import build_index, search

    if not query.strip():
        raise ValueError("QUERY: expected a non-empty query text")
    emb, texts, metadata = read_index(index)
    if k < 1:
        raise ValueError(f"--k: expected an integer >= 1, got {k}")
    if k > len(texts):
        raise ValueError(f"--k: {k} is larger than the corpus ({len(texts)} texts in {index})")
    source = model if model is not None else metadata.get("model")
    max_length = int(metadata.get("max_length", "128"))
    encoder = _load_encoder(source, max_length)
    if encoder.dim != emb.shape[1]:
        raise ValueError(f"--model: {source} gives {encoder.dim}-d embeddings, the index holds {emb.shape[1]}-d")
    q = encoder.encode([query])
    scores, ids = search(q, build_index(emb), k)
    return [(int(i), float(s), texts[int(i)]) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]


__all__ = ["INDEX_FORMAT", "embed_command", "read_index", "read_texts", "search_command"]
