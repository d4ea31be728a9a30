"""Pair selection and weighting: hard negatives, memory queue, bad-pair mining, inverse-propensity pair sampling,
cluster-based weights."""

from contrastkit.mining.clusters import cluster_negative_weights
from contrastkit.mining.dbpm import DBPM, flag_precision_recall
from contrastkit.mining.hard_negatives import hardest_negatives_mask
from contrastkit.mining.propensity import inverse_propensity_probabilities, sample_candidates, surface_bins
from contrastkit.mining.queue import MemoryQueue

__all__ = ["DBPM", "MemoryQueue", "cluster_negative_weights", "flag_precision_recall", "hardest_negatives_mask",
           "inverse_propensity_probabilities", "sample_candidates", "surface_bins"]
