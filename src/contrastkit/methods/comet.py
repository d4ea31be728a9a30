"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.comet.module`."""

from contrastkit.papers.comet.module import COMET, GroupBatchSampler

__all__ = ["COMET", "GroupBatchSampler"]
