"""Offline text corpora: gensim's bundled test data, Debian ``fortunes`` and Debian ``wordnet-base``.

Nothing is downloaded. Every loader documents what it returns and how it is split; splits are stratified,
seeded and reproducible (:func:`stratified_split`, the same ``seed`` gives the same rows on every machine).

=====================  ===========================================================================
loader                 data
=====================  ===========================================================================
:func:`lee_corpus`     50 news documents + the human 50 x 50 document similarity matrix (Lee,
                       Pincombe & Welsh, CogSci 2005; 1225 rated pairs). Evaluation only: no split.
:func:`lee_background` 300 further news documents from the same source (disjoint from the 50):
                       unsupervised training text.
:func:`word_similarity` WordSim353 (Finkelstein et al., 2002) or SimLex-999 (Hill et al., 2015):
                       ``(word1, word2, human score)`` triples. Evaluation only.
:func:`pang_lee_polarity` 200 movie-review sentences, 100 positive / 100 negative (Pang & Lee, 2005).
:func:`newsgroups_mini` 200 20-Newsgroups posts, alt.atheism vs sci.space (gensim's mini copy).
:func:`fortunes`       Debian ``fortunes``: short texts in 43 category files (``apt-get install fortunes``).
:func:`wordnet_glosses` Debian ``wordnet-base``: WordNet 3.0 synsets (lemmas, gloss); also the
                       synonym table of :func:`contrastkit.text.augment.synonym_replacement`.
=====================  ===========================================================================
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from contrastkit import _wordnet
from contrastkit._optional_data import HIDE_ENV, optional_data_hidden
from contrastkit._wordnet import WORDNET_DIR

FORTUNES_DIR = Path("/usr/share/games/fortunes")
SPLITS = ("all", "train", "test")
WORD_SIMILARITY = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def gensim_data_dir() -> Path:
    """Folder of gensim's bundled test corpora (``gensim/test/test_data``)."""
    try:
        import gensim
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the gensim corpora need gensim: pip install 'contrastkit[text]'") from err
    return Path(gensim.__file__).parent / "test" / "test_data"


def _gensim_file(name: str) -> Path:
    file = gensim_data_dir() / name
    if not file.is_file():  # pragma: no cover - a gensim build without its test data
        raise FileNotFoundError(f"{file} not found: this gensim installation lacks its test data")
    return file


def stratified_split(labels: Sequence[int] | np.ndarray, *, test_fraction: float, seed: int) -> tuple[
        np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)``: per class, a seeded permutation; the first ``round(test_fraction * n_c)``
    rows go to test (at least one when the class has two or more rows). Indices are sorted."""
    y = np.asarray(labels)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(rows.size)]
        n_test = int(round(test_fraction * rows.size))
        if rows.size >= 2:
            n_test = min(max(n_test, 1), rows.size - 1)
        test.append(rows[:n_test])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


def _select(split: str, texts: list[str], labels: np.ndarray, test_fraction: float,
            seed: int) -> tuple[list[str], np.ndarray]:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    if split == "all":
        return texts, labels
    train_idx, test_idx = stratified_split(labels, test_fraction=test_fraction, seed=seed)
    idx = train_idx if split == "train" else test_idx
    return [texts[i] for i in idx], labels[idx]


def _lines(file: Path) -> list[str]:
    # gensim reads these corpora as latin1 (its test_lee.py); lines are documents
    return [line.strip() for line in file.read_text(encoding="latin1").splitlines() if line.strip()]


@functools.lru_cache(maxsize=1)
def _lee() -> tuple[tuple[str, ...], np.ndarray]:
    docs = _lines(_gensim_file("lee.cor"))
    upper = np.loadtxt(_gensim_file("similarities0-1.txt"))
    if len(docs) != 50 or upper.shape != (50, 50):  # pragma: no cover - a changed gensim test set
        raise ValueError(f"lee.cor / similarities0-1.txt: expected 50 docs and a 50x50 matrix, got "
                         f"{len(docs)} and {upper.shape}")
    # the file stores the upper triangle (zeros below the diagonal): mirror it
    human = np.triu(upper) + np.triu(upper, 1).T
    return tuple(docs), human


def lee_corpus() -> tuple[list[str], np.ndarray]:
    """``(docs, human)``: the 50 Lee news documents and their human similarity ``(50, 50)`` float64.

    ``human[i, j]`` in ``[0, 1]`` is the mean rating of documents ``i`` and ``j`` (Lee, Pincombe & Welsh,
    "An empirical evaluation of models of text document similarity", CogSci 2005), symmetric with ones on
    the diagonal; the 1225 pairs ``i < j`` are the benchmark (gensim's ``test_lee.py``). No split: it is
    an evaluation set; train on :func:`lee_background`.
    """
    docs, human = _lee()
    return list(docs), human.copy()


def lee_background() -> list[str]:
    """The 300 Lee background news documents (``lee_background.cor``), none of them among the 50 of
    :func:`lee_corpus`: unlabelled in-domain training text."""
    return _lines(_gensim_file("lee_background.cor"))


def word_similarity(name: str) -> list[tuple[str, str, float]]:
    """``[(word1, word2, human score)]`` of ``"wordsim353"`` (353 pairs, scores 0-10, relatedness) or
    ``"simlex999"`` (999 pairs, 0-10, similarity proper). Evaluation only."""
    if name not in WORD_SIMILARITY:
        raise ValueError(f"name: expected one of {tuple(WORD_SIMILARITY)}, got {name!r}")
    out: list[tuple[str, str, float]] = []
    for line in _gensim_file(WORD_SIMILARITY[name]).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w1, w2, score = line.split("\t")[:3]
        out.append((w1.strip(), w2.strip(), float(score)))
    return out


def pang_lee_polarity(split: str = "all", *, seed: int = 0, test_fraction: float = 0.5) -> tuple[
        list[str], np.ndarray]:
    """``(texts, labels)``: 200 sentence-polarity sentences, label 1 = positive, 0 = negative (100 each).

    ``split``: ``"all"`` (file order), or ``"train"`` / ``"test"`` of a stratified split with
    ``test_fraction`` of each class in test, permuted by ``seed`` (default 0: 100 / 100).
    Source: Pang & Lee, ACL 2005, gensim's ``pang_lee_polarity.cor`` (latin1).
    """
    texts: list[str] = []
    labels: list[int] = []
    for line in _lines(_gensim_file("pang_lee_polarity.cor")):
        tag, _, text = line.partition(" ")
        if tag not in ("__label__pos", "__label__neg"):  # pragma: no cover - a changed file
            raise ValueError(f"pang_lee_polarity.cor: unexpected label {tag!r}")
        texts.append(text.strip())
        labels.append(1 if tag == "__label__pos" else 0)
    return _select(split, texts, np.asarray(labels, dtype=np.int64), test_fraction, seed)


class _BunchUnpickler(pickle.Unpickler):
    """Reads gensim's ``mini_newsgroup`` (a Python 2 pickle of an sklearn ``Bunch``) allowing only the
    classes that file needs: an allow-list, so a tampered file cannot name code to run."""

    def find_class(self, module: str, name: str) -> object:
        import copyreg

        allowed: dict[tuple[str, str], object] = {
            ("sklearn.datasets.base", "Bunch"): dict,
            ("copy_reg", "_reconstructor"): copyreg._reconstructor,
            ("__builtin__", "dict"): dict,
            ("__builtin__", "object"): object,
            ("numpy", "dtype"): np.dtype,
            ("numpy", "ndarray"): np.ndarray,
        }
        if (module, name) == ("numpy.core.multiarray", "_reconstruct"):
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
            return _reconstruct
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"mini_newsgroup: refusing to load {module}.{name}")
        return allowed[(module, name)]


def _post_text(post: str) -> str:
    """Subject + body of a Usenet post: the header block (which names the newsgroup, i.e. the label) goes."""
    head, _, body = post.partition("\n\n")
    subject = next((line[len("Subject:"):].strip() for line in head.splitlines() if line.startswith("Subject:")), "")
    return re.sub(r"\s+", " ", f"{subject}. {body}" if subject else body).strip()


@functools.lru_cache(maxsize=1)
def _newsgroups() -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    raw = zlib.decompress(_gensim_file("mini_newsgroup").read_bytes())
    bunch = _BunchUnpickler(io.BytesIO(raw), encoding="latin1").load()
    texts = tuple(_post_text(str(t)) for t in bunch["data"])
    return texts, np.asarray(bunch["target"], dtype=np.int64), tuple(str(n) for n in bunch["target_names"])


def newsgroups_mini(split: str = "all", *, seed: int = 0, test_fraction: float = 0.5) -> tuple[
        list[str], np.ndarray, list[str]]:
    """``(texts, labels, class_names)``: 200 20-Newsgroups posts, classes ``alt.atheism`` (0) / ``sci.space``
    (1): the subject line and the body (the headers, which name the group, are dropped), whitespace
    collapsed. ``split`` as in :func:`pang_lee_polarity` (stratified, seeded)."""
    texts, labels, names = _newsgroups()
    sel_texts, sel_labels = _select(split, list(texts), labels.copy(), test_fraction, seed)
    return sel_texts, sel_labels, list(names)


# ---------------------------------------------------------------- Debian fortunes

def fortunes_dir() -> Path | None:
    """The Debian fortunes folder, or ``None`` when absent or hidden by ``$CONTRASTKIT_HIDE_OPTIONAL_DATA``."""
    if optional_data_hidden():
        return None
    return FORTUNES_DIR if (FORTUNES_DIR / "computers").is_file() else None


def fortunes_available() -> bool:
    """``True`` when the Debian ``fortunes`` files are readable (and not hidden)."""
    return fortunes_dir() is not None


def fortune_categories(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted category names (files without an extension: 43 with Debian ``fortunes`` + ``fortunes-min``)."""
    folder = _fortunes_root(root)
    return sorted(p.name for p in folder.iterdir() if p.is_file() and "." not in p.name)


def _fortunes_root(root: str | os.PathLike[str] | None) -> Path:
    if root is not None:
        folder = Path(root)
        if not folder.is_dir():
            raise FileNotFoundError(f"root: {folder} is not a folder")
        return folder
    folder = fortunes_dir()
    if folder is None:
        why = f"hidden by ${HIDE_ENV}" if optional_data_hidden() else f"{FORTUNES_DIR} not found"
        raise FileNotFoundError(f"fortunes: Debian fortunes are not available ({why}); "
                                "apt-get install -y fortunes, or `make data`")
    return folder


def fortunes(categories: Sequence[str] | None = None, *, max_chars: int = 400, min_chars: int = 20,
             per_category: int | None = None, split: str = "all", seed: int = 0, test_fraction: float = 0.2,
             root: str | os.PathLike[str] | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """``(texts, labels, category_names)`` from Debian ``fortunes`` (one file per category).

    Each file is split on lines holding only ``%`` (latin1); whitespace runs become one space. A fortune is
    kept when ``min_chars <= len(text) <= max_chars`` (longer ones are dropped, not truncated) and when its
    text has not already been kept for an earlier category (categories in sorted order), so no text is in
    two classes. ``labels[i]`` indexes ``category_names``.

    Args:
        categories: category names (default: all 43, sorted); an unknown name raises ``ValueError``.
        per_category: keep at most this many per category, the first ones after a seeded shuffle
            (``seed``); ``None`` keeps all.
        split: ``"all"``, or ``"train"`` / ``"test"`` of a stratified split with ``test_fraction`` of each
            category in test (seeded by ``seed``, applied after ``per_category``).
        root: a folder of fortune files instead of the Debian one.

    Raises:
        FileNotFoundError: the Debian files are absent (``apt-get install fortunes``) or hidden.
    """
    folder = _fortunes_root(root)
    available = fortune_categories(folder)
    if categories is None:
        names = available
    else:
        if isinstance(categories, str) or not isinstance(categories, Sequence) or not categories:
            raise ValueError(f"categories: expected a non-empty list of category names, got {categories!r}")
        unknown = [c for c in categories if c not in available]
        if unknown:
            raise ValueError(f"categories: unknown fortune categories {unknown}; available: {available}")
        names = sorted(set(categories))
    if min_chars < 1 or max_chars < min_chars:
        raise ValueError(f"max_chars: expected 1 <= min_chars <= max_chars, got {min_chars}, {max_chars}")
    if per_category is not None and (isinstance(per_category, bool) or not isinstance(per_category, int)
                                     or per_category < 1):
        raise ValueError(f"per_category: expected an integer >= 1 or None, got {per_category!r}")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        raw = (folder / name).read_text(encoding="latin1")
        kept: list[str] = []
        for chunk in re.split(r"^%\s*$", raw, flags=re.MULTILINE):
            text = re.sub(r"\s+", " ", chunk).strip()
            if min_chars <= len(text) <= max_chars and text not in seen:
                seen.add(text)
                kept.append(text)
        if per_category is not None and len(kept) > per_category:
            kept = [kept[i] for i in sorted(rng.permutation(len(kept))[:per_category])]
        texts.extend(kept)
        labels.extend([label] * len(kept))
    sel_texts, sel_labels = _select(split, texts, np.asarray(labels, dtype=np.int64), test_fraction, seed)
    return sel_texts, sel_labels, list(names)


# ---------------------------------------------------------------- WordNet (Debian wordnet-base)

def wordnet_dir() -> Path | None:
    """The Debian WordNet 3.0 folder, or ``None`` when absent or hidden by ``$CONTRASTKIT_HIDE_OPTIONAL_DATA``."""
    return WORDNET_DIR if _wordnet.wordnet_available() else None


def wordnet_available() -> bool:
    """``True`` when Debian ``wordnet-base`` is readable (and not hidden)."""
    return wordnet_dir() is not None


def wordnet_glosses(pos: str = "noun", *, root: str | os.PathLike[str] | None = None) -> list[
        tuple[tuple[str, ...], str]]:
    """``[(lemmas, gloss)]`` per WordNet 3.0 synset of part of speech ``pos`` (noun: 82,115 synsets), in file
    order (``data.<pos>`` of Debian ``wordnet-base``, read by :func:`contrastkit._wordnet.read_synsets`).
    ``lemmas`` are the synset's words (``_`` -> space)."""
    if pos not in _wordnet.POS_FILES:
        raise ValueError(f"pos: expected one of {tuple(_wordnet.POS_FILES)}, got {pos!r}")
    if root is None:
        found = wordnet_dir()
        if found is None:
            why = f"hidden by ${HIDE_ENV}" if optional_data_hidden() else f"{WORDNET_DIR} not found"
            raise FileNotFoundError(f"wordnet: Debian wordnet-base is not available ({why}); "
                                    "apt-get install -y wordnet-base, or `make data`")
        root = found
    return [(tuple(w.replace("_", " ") for w in s.words), s.gloss) for s in _wordnet.read_synsets(pos, root)]


@functools.lru_cache(maxsize=2)
def wordnet_synonyms(root: str | None = None) -> dict[str, tuple[str, ...]]:
    """Lower-cased single word -> its single-word WordNet synonyms (other lemmas of any of its synsets,
    all parts of speech), sorted. Used by :func:`contrastkit.text.augment.synonym_replacement`."""
    table: dict[str, set[str]] = {}
    for pos in _wordnet.POS_FILES:
        for lemmas, _ in wordnet_glosses(pos, root=root):
            words = {w.lower() for w in lemmas if " " not in w and w.isalpha()}
            for w in words:
                table.setdefault(w, set()).update(words - {w})
    return {w: tuple(sorted(s)) for w, s in table.items() if s}


__all__ = ["FORTUNES_DIR", "SPLITS", "WORDNET_DIR", "fortune_categories", "fortunes", "fortunes_available",
           "fortunes_dir", "gensim_data_dir", "lee_background", "lee_corpus", "newsgroups_mini",
           "pang_lee_polarity", "stratified_split", "word_similarity", "wordnet_available", "wordnet_dir",
           "wordnet_glosses", "wordnet_synonyms"]
