"""Deprecated import path, kept for one release: the module lives in :mod:`contrastkit.papers.clip.module`."""

from contrastkit.papers.clip.module import CLIP, LOSSES, LiT, LogitScale, label_smoothing_weights

__all__ = ["CLIP", "LOSSES", "LiT", "LogitScale", "label_smoothing_weights"]
