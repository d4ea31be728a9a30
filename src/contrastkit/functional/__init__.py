"""Pure tensor math of contrastive objectives: similarities, positives, forms."""

from contrastkit.functional.distributed import all_gather_with_grad, is_distributed
from contrastkit.functional.forms import info_nce_rows, lse_rows
from contrastkit.functional.geometry import alignment_term, uniformity_term
from contrastkit.functional.gram import symmetric_gram
from contrastkit.functional.grouped import grouped_infonce
from contrastkit.functional.positives import Positives
from contrastkit.functional.problem import Direction, Problem, build_problem
from contrastkit.functional.sigmoid import sigmoid_rows
from contrastkit.functional.similarity import (
    Cosine,
    Dot,
    NegSqEuclidean,
    Similarity,
    get_similarity,
    normalize,
    pairwise_cosine,
    sq_distances,
)
from contrastkit.functional.tiled import TiledLogSumExp, tiled_direction_rows, tiled_symmetric_rows

__all__ = ["Cosine", "Direction", "Dot", "NegSqEuclidean", "Positives", "Problem", "Similarity",
           "TiledLogSumExp", "alignment_term", "all_gather_with_grad", "build_problem", "get_similarity",
           "grouped_infonce", "info_nce_rows", "is_distributed", "lse_rows", "normalize", "pairwise_cosine",
           "sigmoid_rows", "sq_distances", "symmetric_gram", "tiled_direction_rows", "tiled_symmetric_rows",
           "uniformity_term"]
