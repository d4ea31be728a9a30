"""Turn the one call convention ``loss(a, b=None, *, labels, weights, negatives)`` into directions.

A *direction* is a set of anchors scored against a set of candidates with sparse positives.
Two-view SimCLR is one direction over the stacked views; CLIP is two directions (a->b, b->a).
Every InfoNCE-family loss (dense, tiled or distributed) consumes the same directions, so the
meaning of the call never depends on how the loss is executed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit._validation import (
    check_embeddings,
    check_labels,
    check_same_device,
    check_same_dim,
    check_same_shape,
)
from contrastkit.functional.positives import Positives, SoftWeights, check_soft_weights

MODES = ("two_view", "a_to_b", "symmetric")


@dataclass(frozen=True)
class Direction:
    """Anchors scored against candidates; ``sample`` maps each anchor to its input row."""

    anchors: Tensor
    candidates: Tensor
    positives: Positives
    sample: Tensor
    shared: bool  # anchors and candidates are the same tensor (one matmul, symmetric matrix)


@dataclass(frozen=True)
class Problem:
    directions: tuple[Direction, ...]
    num_samples: int


def build_problem(
    a: Tensor,
    b: Tensor | None,
    *,
    mode: str,
    labels: Tensor | None = None,
    weights: SoftWeights | None = None,
    negatives: Tensor | None = None,
    check_finite: bool = True,
) -> Problem:
    """Validate the inputs and describe them as anchor/candidate directions.

    Args:
        a: ``(N, d)`` embeddings (first view, or the first tower).
        b: ``(N, d)`` second view / second tower, or ``None`` for a single view with ``labels``.
        mode: ``two_view`` (SimCLR NT-Xent: 2N anchors against the other 2N-1 rows),
            ``a_to_b`` (one-directional two-tower, e.g. multiple-negatives ranking) or
            ``symmetric`` (CLIP: mean of a->b and b->a).
        labels: ``(N,)`` integer ids; rows sharing an id are positives (SupCon).
        weights: soft positive weights over the direction's anchors x candidates, or over
            ``a`` x ``b`` rows (``(N, N)``) for two-tower modes; a callable gives tiles.
        negatives: ``(M, d)`` extra negative candidates for the anchors of ``a``.
        check_finite: check the inputs for NaN/inf here; a caller that checks its result with
            :func:`contrastkit._validation.check_finite_result` passes ``False``.
    """
    check_same_device({"a": a, "b": b, "labels": labels, "negatives": negatives, "weights": weights},
                      cpu_ok=("labels",))
    check_embeddings(a, "a", finite=check_finite)
    n = a.shape[0]
    if b is not None:
        check_embeddings(b, "b", finite=check_finite)
        check_same_shape(a, b, "a", "b")
    if labels is not None:
        labels = check_labels(labels, n).to(a.device)
    if negatives is not None:
        check_embeddings(negatives, "negatives", allow_empty=True, finite=check_finite)
        check_same_dim(a, negatives, "a", "negatives")
    if b is None:
        if labels is None and weights is None:
            raise ValueError("b: a second view is required unless labels= or weights= define positives")
        return _single_view(a, labels, weights, negatives)
    if mode == "two_view":
        return _two_view(a, b, labels, weights, negatives)
    if mode == "a_to_b":
        return Problem((_cross(a, b, labels, weights, negatives, transpose=False),), n)
    if mode == "symmetric":
        forward = _cross(a, b, labels, weights, negatives, transpose=False)
        backward = _cross(b, a, labels, weights, None, transpose=True)
        return Problem((forward, backward), n)
    raise ValueError(f"mode: unknown option {mode!r}; expected one of {MODES}")


def _append(candidates: Tensor, negatives: Tensor | None) -> Tensor:
    if negatives is None or negatives.shape[0] == 0:
        return candidates
    return torch.cat([candidates, negatives.to(candidates.dtype)])


def _resolve_soft(
    weights: SoftWeights | None, shape: tuple[int, int], transpose: bool
) -> SoftWeights | None:
    if weights is None:
        return None
    if callable(weights) and not isinstance(weights, Tensor):
        if not transpose:
            return weights
        fn: Callable[[slice, slice], Tensor] = weights
        return lambda rows, cols: fn(cols, rows).transpose(0, 1)
    w = weights.transpose(0, 1) if transpose else weights
    return check_soft_weights(w, shape)


def _single_view(
    a: Tensor, labels: Tensor | None, weights: SoftWeights | None, negatives: Tensor | None
) -> Problem:
    n = a.shape[0]
    index = torch.arange(n, device=a.device)
    ids = labels if labels is not None else index
    positives = Positives.from_labels(ids, ids, index)
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_soft(_resolve_soft(weights, (n, n), False))
    positives = positives.with_extra_negatives(m)
    shared = negatives is None or m == 0
    return Problem((Direction(a, _append(a, negatives), positives, index, shared),), n)


def _two_view(
    a: Tensor,
    b: Tensor,
    labels: Tensor | None,
    weights: SoftWeights | None,
    negatives: Tensor | None,
) -> Problem:
    n = a.shape[0]
    stacked = torch.cat([a, b])
    index = torch.arange(2 * n, device=a.device)
    if labels is None:
        positives = Positives.views(n, 2, device=a.device)
    else:
        positives = Positives.from_labels(labels.repeat(2), labels.repeat(2), index)
    if weights is not None:
        if isinstance(weights, Tensor) and tuple(weights.shape) == (n, n):
            weights = weights.repeat(2, 2)  # sample-level weights apply to every view pair
        positives = positives.with_soft(_resolve_soft(weights, (2 * n, 2 * n), False))
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_extra_negatives(m)
    sample = torch.arange(n, device=a.device).repeat(2)
    return Problem((Direction(stacked, _append(stacked, negatives), positives, sample, m == 0),), n)


def _cross(
    anchors: Tensor,
    candidates: Tensor,
    labels: Tensor | None,
    weights: SoftWeights | None,
    negatives: Tensor | None,
    *,
    transpose: bool,
) -> Direction:
    n = anchors.shape[0]
    if labels is None:
        positives = Positives.paired(n, device=anchors.device)
    else:
        positives = Positives.from_labels(labels, labels, None)
    positives = positives.with_soft(_resolve_soft(weights, (n, n), transpose))
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_extra_negatives(m)
    sample = torch.arange(n, device=anchors.device)
    return Direction(anchors, _append(candidates, negatives), positives, sample, False)
