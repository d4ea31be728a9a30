"""Heterogeneous graphs for contrastive learning (see docs/graph.md)."""
