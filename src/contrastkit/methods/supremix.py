"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.supremix.module`."""

from contrastkit.papers.supremix.module import OBJECTIVES, ContrastiveRegression, bin_targets

__all__ = ["ContrastiveRegression", "OBJECTIVES", "bin_targets"]
