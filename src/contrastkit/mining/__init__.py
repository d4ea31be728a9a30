"""Pair selection and weighting."""

from contrastkit.mining.hard_negatives import hardest_negatives_mask

__all__ = ["hardest_negatives_mask"]
