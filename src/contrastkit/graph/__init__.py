"""Heterogeneous graphs for contrastive learning, on PyTorch Geometric (guide: ``docs/graph.md``).

- :func:`wordnet_hetero`: WordNet 3.0 nouns (Debian ``wordnet-base``) as a ``HeteroData`` — synsets
  (targets, gloss bag of words, lexicographer-file labels, fixed split), lemmas, hypernyms — with the
  meta-paths ``SLS`` / ``SHS`` added by PyG's ``AddMetaPaths`` (:func:`add_meta_paths`);
- :func:`drop_edges`, :func:`mask_features`: graph augmentations (``p = 0`` is the identity);
- :class:`GCN`, :class:`SemanticAttention`: encoders; :class:`GRACE`: node-level two-view InfoNCE.

Evaluation: :func:`contrastkit.evaluate.linear_probe_f1` (Macro-F1 / Micro-F1 of a logistic regression).
MEOW / AdaMEOW: :mod:`contrastkit.papers.meow`. Needs the ``graph`` extra (``torch_geometric``).
"""

from contrastkit.graph.augment import check_edge_index, check_probability, drop_edges, mask_features
from contrastkit.graph.data import (
    META_PATHS,
    NOUN_LEXNAMES,
    NounSynset,
    add_meta_paths,
    read_noun_synsets,
    wordnet_available,
    wordnet_hetero,
)
from contrastkit.graph.encoders import GCN, SemanticAttention
from contrastkit.graph.grace import GRACE, grace_reference_loss

__all__ = ["GCN", "GRACE", "META_PATHS", "NOUN_LEXNAMES", "NounSynset", "SemanticAttention", "add_meta_paths",
           "check_edge_index", "check_probability", "drop_edges", "grace_reference_loss", "mask_features",
           "read_noun_synsets", "wordnet_available", "wordnet_hetero"]
