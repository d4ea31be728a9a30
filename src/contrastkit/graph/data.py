"""A real heterogeneous graph that loads offline: WordNet 3.0 nouns (Debian ``wordnet-base``) as a PyG ``HeteroData``.

Node types (Miller, 1995, "WordNet: a lexical database for English"; files: ``data.noun``, format ``wndb(5WN)``):

* ``synset`` — the **target** nodes: noun synsets (senses), features = binary bag of words of the gloss
  (the ACM/DBLP convention of heterogeneous-graph benchmarks: bag-of-words features on the target type);
  label = the synset's **lexicographer file** (``noun.artifact``, ``noun.person``, ... — WordNet's 26 noun
  supersenses), the node-classification task.
* ``lemma`` — words shared by at least two target synsets (identity features: a learned embedding each).
* ``hypernym`` — the direct hypernyms (``@`` and instance ``@i`` pointers) of the targets, features = the
  bag of words of their glosses.

Edge types: ``(synset, has_lemma, lemma)``, ``(lemma, lemma_of, synset)``, ``(synset, has_hypernym,
hypernym)``, ``(hypernym, hypernym_of, synset)``. Meta-paths (as in ACM's PAP / PSP): ``SLS`` (two senses of
one word: polysemy, a *noisy* relation — about a third of the pairs share a label) and ``SHS`` (co-hyponyms
of one hypernym: almost always the same label), built by PyG's ``AddMetaPaths``.

The sample is fixed by ``seed``: ``n_lemmas`` random noun lemmas with 2..``max_senses`` noun senses, all
their senses as targets, then only the classes with at least ``min_class_size`` targets. The split is per
class: ``train_per_class`` and ``val_per_class`` random targets, the rest test.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contrastkit._validation import check_positive_int
from contrastkit._wordnet import WORDNET_DIR, Synset, read_synsets, wordnet_available

# WordNet 3.0 lexicographer files 03..28 (lexnames(5WN)): the noun supersenses, in file-number order.
NOUN_LEXNAMES: tuple[str, ...] = (
    "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute", "noun.body", "noun.cognition",
    "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group", "noun.location",
    "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
    "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance",
    "noun.time",
)
_FIRST_NOUN_FILE = 3

META_PATHS: dict[str, list[tuple[str, str, str]]] = {
    "SLS": [("synset", "has_lemma", "lemma"), ("lemma", "lemma_of", "synset")],
    "SHS": [("synset", "has_hypernym", "hypernym"), ("hypernym", "hypernym_of", "synset")],
}


@dataclass(frozen=True)
class NounSynset:
    """One line of ``data.noun``: byte offset (the synset id), lexicographer file name, lemmas, hypernyms, gloss."""

    offset: str
    lexname: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]
    gloss: str


def read_noun_synsets(root: str | Path | None = None) -> dict[str, NounSynset]:
    """Every noun synset of ``<root>/data.noun`` (WordNet 3.0: 82,115), keyed by offset.

    Read by :func:`contrastkit._wordnet.read_synsets` (the ``wndb(5WN)`` line format); lemmas are
    lower-cased, hypernyms are the ``@`` / ``@i`` pointers to nouns. The parse is cached per folder.

    Raises:
        FileNotFoundError: no ``data.noun`` under ``root`` (install ``wordnet-base``: ``make data``).
    """
    synsets = read_synsets("noun", root)
    hit = _NOUNS.get(id(synsets))
    if hit is None or hit[0] is not synsets:  # the reader returns one cached tuple per file
        hit = _NOUNS[id(synsets)] = (synsets, {s.offset: NounSynset(
            s.offset, NOUN_LEXNAMES[s.lex_filenum - _FIRST_NOUN_FILE], tuple(w.lower() for w in s.words),
            tuple(p.offset for p in s.pointers if p.symbol in ("@", "@i") and p.pos == "n"), s.gloss)
            for s in synsets})
    return dict(hit[1])


_NOUNS: dict[int, tuple[tuple[Synset, ...], dict[str, NounSynset]]] = {}


def _bag_of_words(texts: list[str], vocab: Any) -> torch.Tensor:
    return torch.as_tensor(vocab.transform(texts).toarray(), dtype=torch.float32)


def wordnet_hetero(
    root: str | Path | None = None,
    *,
    n_lemmas: int = 600,
    max_senses: int = 8,
    min_class_size: int = 60,
    vocabulary: int = 1000,
    train_per_class: int = 20,
    val_per_class: int = 20,
    seed: int = 0,
) -> Any:
    """The WordNet heterogeneous graph of the module docstring as a ``torch_geometric.data.HeteroData``.

    ``data["synset"]`` carries ``x`` ``(N, vocabulary)``, ``y`` ``(N,)`` (index into ``data.label_names``),
    ``train_mask`` / ``val_mask`` / ``test_mask`` and ``offset`` (WordNet ids); ``data.meta_paths`` names the
    ``(synset, SLS|SHS, synset)`` edge types added by :func:`add_meta_paths`. The defaults give 1,187
    targets in 9 classes (180 train, 180 validation, 827 test).

    Raises:
        FileNotFoundError: WordNet is absent. ValueError: a size argument is not a positive integer, or the
        classes are too small for the split.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from torch_geometric.data import HeteroData

    for name, value in (("n_lemmas", n_lemmas), ("max_senses", max_senses), ("min_class_size", min_class_size),
                        ("vocabulary", vocabulary), ("train_per_class", train_per_class),
                        ("val_per_class", val_per_class)):
        check_positive_int(value, name)
    if train_per_class + val_per_class >= min_class_size:
        raise ValueError(f"min_class_size: expected more than train_per_class + val_per_class "
                         f"({train_per_class + val_per_class}) so every class has test nodes, got {min_class_size}")
    synsets = read_noun_synsets(root)
    senses: dict[str, list[str]] = defaultdict(list)
    for off, s in synsets.items():
        for w in s.lemmas:
            senses[w].append(off)
    polysemous = sorted(w for w, offs in senses.items() if 2 <= len(offs) <= max_senses)
    rng = random.Random(seed)
    rng.shuffle(polysemous)
    targets = sorted({off for w in polysemous[:n_lemmas] for off in senses[w]})
    counts: dict[str, int] = defaultdict(int)
    for off in targets:
        counts[synsets[off].lexname] += 1
    labels = sorted(c for c, n in counts.items() if n >= min_class_size)
    if len(labels) < 2:
        raise ValueError(f"min_class_size: only {len(labels)} class(es) have {min_class_size} targets; lower it")
    targets = [off for off in targets if synsets[off].lexname in labels]
    index = {off: i for i, off in enumerate(targets)}

    lemma_of: dict[str, list[int]] = defaultdict(list)
    for off in targets:
        for w in synsets[off].lemmas:
            lemma_of[w].append(index[off])
    lemmas = sorted(w for w, ts in lemma_of.items() if len(ts) >= 2)
    hypernyms = sorted({h for off in targets for h in synsets[off].hypernyms})
    h_index = {h: i for i, h in enumerate(hypernyms)}

    vocab = CountVectorizer(binary=True, stop_words="english", max_features=vocabulary)
    vocab.fit([synsets[o].gloss for o in targets] + [synsets[h].gloss for h in hypernyms])
    data = HeteroData()
    data["synset"].x = _bag_of_words([synsets[o].gloss for o in targets], vocab)
    data["synset"].y = torch.tensor([labels.index(synsets[o].lexname) for o in targets])
    data["synset"].offset = targets
    data["lemma"].x = torch.eye(len(lemmas))
    data["lemma"].name = lemmas
    data["hypernym"].x = _bag_of_words([synsets[h].gloss for h in hypernyms], vocab)
    data["hypernym"].offset = hypernyms
    # PyG's AddMetaPaths needs contiguous (2, E) edge indices
    sl = torch.tensor([(t, j) for j, w in enumerate(lemmas) for t in lemma_of[w]]).T.contiguous()
    sh = torch.tensor([(index[o], h_index[h]) for o in targets for h in synsets[o].hypernyms]).T.contiguous()
    data["synset", "has_lemma", "lemma"].edge_index = sl
    data["lemma", "lemma_of", "synset"].edge_index = sl.flip(0).contiguous()
    data["synset", "has_hypernym", "hypernym"].edge_index = sh
    data["hypernym", "hypernym_of", "synset"].edge_index = sh.flip(0).contiguous()
    data.label_names = labels

    gen = torch.Generator().manual_seed(seed)
    y = data["synset"].y
    train, val = torch.zeros(len(y), dtype=torch.bool), torch.zeros(len(y), dtype=torch.bool)
    for c in range(len(labels)):
        members = (y == c).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        train[members[:train_per_class]] = True
        val[members[train_per_class:train_per_class + val_per_class]] = True
    data["synset"].train_mask, data["synset"].val_mask = train, val
    data["synset"].test_mask = ~(train | val)
    return add_meta_paths(data, META_PATHS)


def add_meta_paths(data: Any, meta_paths: dict[str, list[tuple[str, str, str]]]) -> Any:
    """Add one ``(src, name, dst)`` edge type per meta-path with PyG's ``AddMetaPaths`` (self-loops removed,
    duplicates merged), and record the names in ``data.meta_paths``.

    Raises:
        ValueError: an edge type of a meta-path is not in ``data``, or consecutive edge types do not chain.
    """
    from torch_geometric.transforms import AddMetaPaths
    from torch_geometric.utils import coalesce, remove_self_loops

    for name, path in meta_paths.items():
        for edge in path:
            if tuple(edge) not in data.edge_types:
                raise ValueError(f"meta_paths: {name} uses edge type {edge}, not in the graph {data.edge_types}")
        for a, b in zip(path, path[1:], strict=False):
            if a[2] != b[0]:
                raise ValueError(f"meta_paths: {name} does not chain ({a} then {b})")
    added = AddMetaPaths([list(map(tuple, p)) for p in meta_paths.values()], drop_orig_edge_types=False,
                         drop_unconnected_node_types=False)(data.clone())
    for i, (name, path) in enumerate(meta_paths.items()):
        src, dst = path[0][0], path[-1][2]
        edge_index = added[src, f"metapath_{i}", dst].edge_index
        if src == dst:
            edge_index, _ = remove_self_loops(edge_index)
        data[src, name, dst].edge_index = coalesce(edge_index, num_nodes=data[src].num_nodes)
    data.meta_paths = list(meta_paths)
    return data


__all__ = ["META_PATHS", "NOUN_LEXNAMES", "NounSynset", "WORDNET_DIR", "add_meta_paths", "read_noun_synsets",
           "wordnet_available", "wordnet_hetero"]
