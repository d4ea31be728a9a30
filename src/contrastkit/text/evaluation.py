"""One-call scores of a sentence encoder on the offline text benchmarks (embeddings cached per model).

- :func:`lee_spearman`: Spearman's rho between the cosine similarities of the 1225 Lee document pairs and
  the human ratings (:func:`contrastkit.text.corpora.lee_corpus`).
- :func:`word_similarity_spearman`: Spearman's rho on WordSim353 or SimLex-999, each word encoded as a
  one-word sentence.

Both go through :func:`contrastkit.text.cached_encode` and the metrics of :mod:`contrastkit.evaluate`.
"""

from __future__ import annotations

import os

import torch

from contrastkit.evaluate.similarity import similarity_matrix_spearman, sts_spearman
from contrastkit.text import corpora
from contrastkit.text.cache import CACHE_DIR, cached_encode
from contrastkit.text.encoder import TextEncoder


def lee_spearman(encoder: TextEncoder | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = CACHE_DIR) -> float:
    """Lee corpus document-similarity Spearman of ``encoder`` (``None``: the packaged MiniLM)."""
    docs, human = corpora.lee_corpus()
    return similarity_matrix_spearman(cached_encode(encoder, docs, cache_dir=cache_dir), human)


def word_similarity_spearman(encoder: TextEncoder | None = None, name: str = "wordsim353", *,
                             cache_dir: str | os.PathLike[str] | None = CACHE_DIR) -> float:
    """Spearman's rho of ``cos(enc(w1), enc(w2))`` against the human scores of ``name`` (``"wordsim353"`` or
    ``"simlex999"``), over all pairs."""
    pairs = corpora.word_similarity(name)
    words = sorted({w for a, b, _ in pairs for w in (a, b)})
    emb = cached_encode(encoder, words, cache_dir=cache_dir)
    row = {w: i for i, w in enumerate(words)}
    a = emb[torch.tensor([row[p[0]] for p in pairs])]
    b = emb[torch.tensor([row[p[1]] for p in pairs])]
    return sts_spearman(a, b, [p[2] for p in pairs])


__all__ = ["lee_spearman", "word_similarity_spearman"]
