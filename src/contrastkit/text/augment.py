"""Batched word-level text augmentations (EDA: Wei & Zou, "EDA: Easy Data Augmentation Techniques for
Boosting Performance on Text Classification Tasks", EMNLP 2019, ``code/eda.py``): random deletion, random
swap, synonym replacement (WordNet synonyms from Debian ``wordnet-base``, or a table you pass).

Each function maps a list of texts to a list of texts of the same length, draws its randomness from a
``torch.Generator`` (``generator=``) or a ``seed=`` (never the global RNG when either is given), and
leaves every text unchanged at ``p = 0``. Words are whitespace-separated tokens; output words are joined
by one space.

SimCSE's positive pairs need no augmentation here: they are two forward passes of the same batch through a
:class:`~contrastkit.text.TextEncoder` in train mode (independent dropout masks; Gao, Yao & Chen, EMNLP 2021).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch

from contrastkit.text.encoder import check_texts

_WORD = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _generator(generator: torch.Generator | None, seed: int | None) -> torch.Generator | None:
    if generator is not None and seed is not None:
        raise ValueError("seed: give generator or seed, not both")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        return torch.Generator().manual_seed(seed)
    return generator


def _check_p(p: object, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    return float(p)


def word_deletion(texts: Sequence[str], p: float = 0.1, *, generator: torch.Generator | None = None,
                  seed: int | None = None) -> list[str]:
    """Drop each word independently with probability ``p``; at least one word of each text is kept (EDA's
    ``random_deletion``: when every word would go, one random word stays)."""
    texts = check_texts(texts)
    p = _check_p(p)
    g = _generator(generator, seed)
    if p == 0:
        return list(texts)
    out = []
    for text in texts:
        words = text.split()
        keep = torch.rand(len(words), generator=g) >= p
        if not bool(keep.any()):
            keep[int(torch.randint(len(words), (1,), generator=g))] = True
        out.append(" ".join(w for w, k in zip(words, keep.tolist(), strict=True) if k))
    return out


def word_swap(texts: Sequence[str], p: float = 0.1, *, generator: torch.Generator | None = None,
              seed: int | None = None) -> list[str]:
    """Swap two random word positions ``max(1, int(p * n_words))`` times per text (EDA's ``random_swap``
    with ``n = max(1, int(alpha * l))``); ``p = 0`` swaps nothing, a one-word text is unchanged."""
    texts = check_texts(texts)
    p = _check_p(p)
    g = _generator(generator, seed)
    if p == 0:
        return list(texts)
    out = []
    for text in texts:
        words = text.split()
        if len(words) >= 2:
            for _ in range(max(1, int(p * len(words)))):
                i, j = torch.randperm(len(words), generator=g)[:2].tolist()
                words[i], words[j] = words[j], words[i]
        out.append(" ".join(words))
    return out


def synonym_replacement(texts: Sequence[str], p: float = 0.1, *, synonyms: Mapping[str, Sequence[str]] | None = None,
                        generator: torch.Generator | None = None, seed: int | None = None) -> list[str]:
    """Replace each word that has a synonym, with probability ``p``, by one of its synonyms (uniform).

    Words are looked up lower-cased with their surrounding punctuation stripped (kept in the output); a
    capitalised word gets a capitalised synonym. ``synonyms``: word -> alternatives; default: WordNet 3.0
    (:func:`contrastkit.text.corpora.wordnet_synonyms`, Debian ``wordnet-base``).

    Raises:
        FileNotFoundError: ``synonyms`` is ``None`` and WordNet is not installed (or hidden).
    """
    texts = check_texts(texts)
    p = _check_p(p)
    g = _generator(generator, seed)
    if p == 0:
        return list(texts)
    if synonyms is None:
        from contrastkit.text.corpora import wordnet_synonyms

        synonyms = wordnet_synonyms()
    elif not isinstance(synonyms, Mapping):
        raise TypeError(f"synonyms: expected a mapping word -> list of synonyms, got {type(synonyms).__name__}")
    out = []
    for text in texts:
        words = text.split()
        draws = torch.rand(len(words), generator=g).tolist()
        for i, word in enumerate(words):
            pre, core, post = _WORD.match(word).groups()  # type: ignore[union-attr]
            alts = [a for a in synonyms.get(core.lower(), ()) if a.lower() != core.lower()]
            if alts and draws[i] < p:
                new = alts[int(torch.randint(len(alts), (1,), generator=g))]
                if core[:1].isupper():
                    new = new[:1].upper() + new[1:]
                words[i] = f"{pre}{new}{post}"
        out.append(" ".join(words))
    return out


__all__ = ["synonym_replacement", "word_deletion", "word_swap"]
