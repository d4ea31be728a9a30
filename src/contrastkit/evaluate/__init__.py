"""Metrics on plain embeddings: tensors or numpy arrays in, python floats (or dicts) out.

Nothing here takes a model: encode first, then evaluate. Every function L2-normalises rows
where its definition uses cosine similarity, validates its inputs (errors name the argument)
and runs without gradients except :func:`relative_penalty`, which is differentiable.
"""

from contrastkit.evaluate.class_retrieval import class_retrieval_metrics
from contrastkit.evaluate.corpus_retrieval import brute_force_top_k, build_index, corpus_retrieval_metrics, search
from contrastkit.evaluate.fewshot import centroid_similarity_spearman, class_centroids, few_shot_prototype_f1
from contrastkit.evaluate.forecasting import chronological_split, ridge_forecast, sliding_windows
from contrastkit.evaluate.geometry import (
    alignment,
    effective_rank,
    relative_penalty,
    tolerance,
    uniformity,
    zero_shot_accuracy,
    zero_shot_predict,
)
from contrastkit.evaluate.knn import knn_accuracy
from contrastkit.evaluate.linear import LinearProbe, fit_linear_probe, linear_probe, linear_probe_f1
from contrastkit.evaluate.ranking import ranking_metrics, target_ranks
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.evaluate.similarity import max_f1, pair_cosine, similarity_matrix_spearman, sts_spearman
from contrastkit.evaluate.svm import svm_probe

__all__ = [
    "brute_force_top_k",
    "centroid_similarity_spearman",
    "class_centroids",
    "few_shot_prototype_f1",
    "build_index",
    "chronological_split",
    "class_retrieval_metrics",
    "corpus_retrieval_metrics",
    "max_f1",
    "pair_cosine",
    "search",
    "similarity_matrix_spearman",
    "sts_spearman",
    "ridge_forecast",
    "sliding_windows",
    "alignment",
    "effective_rank",
    "knn_accuracy",
    "LinearProbe",
    "fit_linear_probe",
    "linear_probe",
    "zero_shot_predict",
    "linear_probe_f1",
    "ranking_metrics",
    "relative_penalty",
    "retrieval_metrics",
    "svm_probe",
    "target_ranks",
    "tolerance",
    "uniformity",
    "zero_shot_accuracy",
]
