"""Deprecated import path, kept for one release: the generation reproductions live in
``contrastkit.papers`` (``papers/simctg``, ``rankgen``, ``claps``; the synthetic languages in
``papers/_generation.py``)."""

from contrastkit.papers._generation import mapping_pairs, markov_documents, markov_table
from contrastkit.papers.claps.reproduce import reproduce as claps
from contrastkit.papers.rankgen.reproduce import reproduce as rankgen
from contrastkit.papers.simctg.reproduce import reproduce as simctg

__all__ = ["claps", "mapping_pairs", "markov_documents", "markov_table", "rankgen", "simctg"]
