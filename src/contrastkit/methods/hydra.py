"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.hydra.module`."""

from contrastkit.papers.hydra.module import HydraContrastive, PairGate, gate_entropy

__all__ = ["HydraContrastive", "PairGate", "gate_entropy"]
