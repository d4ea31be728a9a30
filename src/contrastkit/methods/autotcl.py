"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.autotcl.module`."""

from contrastkit.papers.autotcl.module import AutoTCL

__all__ = ["AutoTCL"]
