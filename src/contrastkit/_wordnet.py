"""The one WordNet 3.0 reader (Debian ``wordnet-base``), below every modality.

``contrastkit.text.corpora`` (glosses, synonyms) and ``contrastkit.graph.data`` (the heterogeneous
synset-lemma-hypernym graph) both read WordNet through :func:`read_synsets`; neither imports the other.

Files: ``<root>/data.{noun,verb,adj,adv}``, line format ``wndb(5WN)``::

    synset_offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt (pointer_symbol offset pos source/target)* | gloss

with ``w_cnt`` hexadecimal and ``p_cnt`` decimal; lines starting with two spaces are the licence header.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from contrastkit._optional_data import HIDE_ENV, optional_data_hidden

WORDNET_DIR = Path("/usr/share/wordnet")
POS_FILES = {"noun": "data.noun", "verb": "data.verb", "adj": "data.adj", "adv": "data.adv"}
# the adjective position markers of wndb(5WN): (a) prenominal, (p) predicate, (ip) immediately postnominal
_MARKER = re.compile(r"\((a|p|ip)\)$")


@dataclass(frozen=True)
class Pointer:
    """One pointer of a synset: ``symbol`` (``@`` hypernym, ``@i`` instance hypernym, ...), target ``offset``
    and ``pos`` (``n``, ``v``, ``a``, ``s``, ``r``), ``source_target`` (four hex digits, ``0000`` = semantic)."""

    symbol: str
    offset: str
    pos: str
    source_target: str


@dataclass(frozen=True)
class Synset:
    """One line of a ``data.<pos>`` file.

    ``words`` are the lemmas as written (``_`` between the words of a collocation, case kept) with the
    adjective markers ``(a)``/``(p)``/``(ip)`` removed; ``lex_filenum`` indexes ``lexnames(5WN)``.
    """

    offset: str
    lex_filenum: int
    ss_type: str
    words: tuple[str, ...]
    pointers: tuple[Pointer, ...]
    gloss: str


def wordnet_root(root: str | Path | None = None) -> Path | None:
    """``root`` as a path, else the Debian folder (``None`` while ``$CONTRASTKIT_HIDE_OPTIONAL_DATA`` hides it)."""
    if root is not None:
        return Path(root)
    return None if optional_data_hidden() else WORDNET_DIR


def wordnet_available(root: str | Path | None = None) -> bool:
    """Whether ``<root>/data.noun`` exists (default: the Debian folder, unless hidden)."""
    path = wordnet_root(root)
    return path is not None and (path / "data.noun").is_file()


def parse_line(line: str) -> Synset:
    """One ``wndb(5WN)`` data line as a :class:`Synset` (``ValueError`` naming the line when malformed)."""
    head, _, gloss = line.partition(" | ")
    t = head.split()
    try:
        n_words = int(t[3], 16)
        words = tuple(_MARKER.sub("", t[4 + 2 * i]) for i in range(n_words))
        k = 4 + 2 * n_words
        pointers = tuple(Pointer(*t[k + 1 + 4 * i: k + 5 + 4 * i]) for i in range(int(t[k])))
        return Synset(t[0], int(t[1]), t[2], words, pointers, gloss.strip())
    except (IndexError, ValueError, TypeError):
        raise ValueError(f"line: not a WordNet data line: {line[:80]!r}") from None


@functools.lru_cache(maxsize=8)
def _read(path: str) -> tuple[Synset, ...]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return tuple(parse_line(line) for line in fh if not line.startswith("  "))


def read_synsets(pos: str = "noun", root: str | Path | None = None) -> tuple[Synset, ...]:
    """Every synset of ``<root>/data.<pos>`` in file order (WordNet 3.0 nouns: 82,115); cached per file.

    Raises:
        ValueError: ``pos`` not one of ``noun``, ``verb``, ``adj``, ``adv``.
        FileNotFoundError: WordNet absent (or hidden) or no ``data.<pos>`` under ``root``.
    """
    if pos not in POS_FILES:
        raise ValueError(f"pos: expected one of {tuple(POS_FILES)}, got {pos!r}")
    folder = wordnet_root(root)
    if folder is None:
        raise FileNotFoundError(f"wordnet: Debian wordnet-base is not available (hidden by ${HIDE_ENV}); "
                                "pass root=, or unset it")
    path = folder / POS_FILES[pos]
    if not path.is_file():
        raise FileNotFoundError(f"root: {path} not found (apt-get install -y wordnet-base, or `make data`)")
    return _read(str(path.resolve()))


__all__ = ["POS_FILES", "WORDNET_DIR", "Pointer", "Synset", "parse_line", "read_synsets", "wordnet_available",
           "wordnet_root"]
