"""Alignment and uniformity of embeddings (Wang & Isola, ICML 2020, "Understanding Contrastive
Representation Learning through Alignment and Uniformity on the Hypersphere", Sec. 4.1).

Defined once, differentiable, on the rows as given (no normalisation here): the evaluation
metrics (:mod:`contrastkit.evaluate.geometry`) apply them to L2-normalised rows and return
floats, SepCLR (:mod:`contrastkit.losses.sepclr`) uses them as loss terms, also on unnormalised
salient embeddings.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from contrastkit.functional.similarity import sq_distances


def alignment_term(x: Tensor, y: Tensor, *, alpha: float = 2.0) -> Tensor:
    """``L_align = mean_i |x_i - y_i|_2^alpha`` over the ``n`` positive pairs (rows ``i`` of ``x``
    and ``y``, both ``(n, d)``); 0 (with a gradient path) for an empty batch. ``alpha = 2`` is a
    sum of squares, smooth where ``x_i = y_i``."""
    if x.shape[0] == 0:
        return (x.sum() + y.sum()) * 0
    diff = x - y
    per_pair = diff.pow(2).sum(-1) if alpha == 2 else torch.linalg.vector_norm(diff, dim=-1).pow(alpha)
    return per_pair.mean()


def uniformity_term(x: Tensor, *, t: float = 2.0, chunk_size: int | None = None) -> Tensor:
    """``L_uniform = log mean_{i<j} exp(-t |x_i - x_j|_2^2)`` over the ``n(n-1)/2`` distinct pairs
    of rows of ``x`` ``(n, d)``.

    Computed as ``logsumexp(-t d_ij^2) - log(n(n-1)/2)`` (max-shifted, cannot underflow) with the
    scale-safe squared distances of :func:`contrastkit.functional.similarity.sq_distances`; row
    blocks of ``chunk_size`` keep memory at ``O(chunk_size x n)`` (``None``: one block). 0 (with a
    gradient path) for fewer than two rows.
    """
    n = x.shape[0]
    if n < 2:
        return x.sum() * 0
    step = n if chunk_size is None else chunk_size
    cols = torch.arange(n, device=x.device)
    parts = []
    for start in range(0, n - 1, step):
        block = x[start:start + step]
        rows = cols[start:start + step]
        upper = cols[None, :] > rows[:, None]
        parts.append(torch.logsumexp((-t * sq_distances(block, x))[upper], dim=0))
    lse = parts[0] if len(parts) == 1 else torch.logsumexp(torch.stack(parts), dim=0)
    return lse - math.log(n * (n - 1) / 2)


__all__ = ["alignment_term", "uniformity_term"]
