"""Pair selection and weighting."""

from contrastkit.mining.hard_negatives import hardest_negatives_mask
from contrastkit.mining.queue import MemoryQueue

__all__ = ["MemoryQueue", "hardest_negatives_mask"]
