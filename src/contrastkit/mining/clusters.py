"""Cluster-based negative weights (MEOW, Yu et al., SDM 2023, "Heterogeneous Graph Contrastive Learning with
Meta-path Contexts and Weighted Negative Samples", official code ``code_meow/module/contrast.py``)."""

from __future__ import annotations

import torch
from torch import Tensor


def cluster_negative_weights(assignments: list[Tensor] | Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """``w_ij = |K| - sum_{k in K} 1[c_k(i) = c_k(j)]`` over ``|K|`` clusterings of the same ``N`` nodes.

    A negative that shares the anchor's cluster in every clustering (a probable false negative) gets weight
    0, one that never does gets ``|K|``; ``w_ii = 0`` (the positive leaves the denominator). Pass the matrix
    as ``denominator_weights=`` of :class:`contrastkit.losses.InfoNCE`.

    Args:
        assignments: ``|K|`` integer tensors ``(N,)`` of cluster ids (or one ``(|K|, N)`` tensor).
        dtype: the result's dtype.

    Returns:
        ``(N, N)`` weights in ``{0, ..., |K|}``.

    Raises:
        ValueError: no clustering, clusterings of different lengths, or non-integer ids.
    """
    rows = list(assignments) if not isinstance(assignments, Tensor) or assignments.dim() == 2 else [assignments]
    if not rows:
        raise ValueError("assignments: expected at least one clustering")
    n = rows[0].shape[0] if isinstance(rows[0], Tensor) else -1
    for a in rows:
        if not isinstance(a, Tensor) or a.dim() != 1 or a.dtype.is_floating_point or a.dtype == torch.bool:
            raise ValueError("assignments: expected integer tensors (N,) of cluster ids")
        if a.shape[0] != n:
            raise ValueError(f"assignments: every clustering must cover the same {n} nodes, got {a.shape[0]}")
    w = torch.full((n, n), float(len(rows)), dtype=dtype, device=rows[0].device)
    for a in rows:
        w -= (a.unsqueeze(0) == a.unsqueeze(1)).to(dtype)
    return w


__all__ = ["cluster_negative_weights"]
