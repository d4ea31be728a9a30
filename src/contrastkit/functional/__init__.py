"""Pure tensor math of contrastive objectives: similarities, positives, forms."""

from contrastkit.functional.forms import info_nce_rows, lse_rows
from contrastkit.functional.positives import Positives
from contrastkit.functional.problem import Direction, Problem, build_problem
from contrastkit.functional.similarity import (
    Cosine,
    Dot,
    NegSqEuclidean,
    Similarity,
    get_similarity,
    pairwise_cosine,
    sq_distances,
)

__all__ = ["Cosine", "Direction", "Dot", "NegSqEuclidean", "Positives", "Problem", "Similarity",
           "build_problem", "get_similarity", "info_nce_rows", "lse_rows", "pairwise_cosine",
           "sq_distances"]
