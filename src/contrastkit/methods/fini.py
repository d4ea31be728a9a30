"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.fini.module`."""

from contrastkit.papers.fini.module import AUX_TERMS, ImprovedCLIP

__all__ = ["AUX_TERMS", "ImprovedCLIP"]
