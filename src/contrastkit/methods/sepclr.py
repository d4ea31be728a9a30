"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.sepclr.module`."""

from contrastkit.papers.sepclr.module import SepCLRModel, sepclr_head

__all__ = ["SepCLRModel", "sepclr_head"]
