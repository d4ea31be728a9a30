"""Turn the one call convention ``loss(a, b=None, *, labels, weights, negatives, ...)`` into directions.

A *direction* is a set of anchors scored against a set of candidates with sparse positives.
Two-view SimCLR is one direction over the stacked views; CLIP is two directions (a->b, b->a).
Every InfoNCE-family loss (dense, tiled or distributed) consumes the same directions, so the
meaning of the call never depends on how the loss is executed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from contrastkit._validation import (
    check_choice,
    check_embeddings,
    check_index,
    check_labels,
    check_same_device,
    check_same_dim,
    check_same_shape,
)
from contrastkit.functional.positives import Positives, SoftWeights, check_soft_weights

MODES = ("two_view", "a_to_b", "symmetric")
DUPLICATES = ("positive", "exclude")


@dataclass(frozen=True)
class Direction:
    """Anchors scored against candidates; ``sample`` maps each anchor to its input row.

    ``group`` (``(A, K, d)``, optional) holds each anchor's own ``K`` extra candidates, scored only
    against that anchor; ``group_positive`` (``(A,)``) the index of the positive among them (a
    listwise problem), or ``None`` when the group holds negatives only."""

    anchors: Tensor
    candidates: Tensor
    positives: Positives
    sample: Tensor
    shared: bool  # anchors and candidates are the same tensor (one matmul, symmetric matrix)
    group: Tensor | None = None
    group_positive: Tensor | None = None


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
    denominator_weights: SoftWeights | None = None,
    duplicates: str = "positive",
    group_size: int = 0,
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
        denominator_weights: per-pair weights ``q_ij >= 0`` of the denominator
            ``log sum_j q_ij exp(l_ij)``, over the direction's anchors x candidates (extra
            negatives, then the ``group_size`` per-anchor candidates, included as columns), or
            over ``a`` x ``b`` rows for two-tower modes (``(N, N + M + K)``; the b->a direction of
            ``symmetric`` uses the transpose of the first ``N`` columns) and ``(N, N)`` sample
            pairs for ``two_view``; a callable ``(rows, cols) -> tile`` gives tiles.
        duplicates: what ``labels`` mean when ``b`` pairs each row with its positive:
            ``positive`` (SupCon: same-label rows are extra positives) or ``exclude`` (same-label
            rows are false negatives: they leave the denominator, the positive stays the pair).
        group_size: ``K`` per-anchor candidates that :func:`attach_group` adds to the first
            direction (``a``'s anchors); with ``b=None`` they are the only candidates (listwise).
        check_finite: check the inputs for NaN/inf here; a caller that checks its result with
            :func:`contrastkit._validation.check_finite_result` passes ``False``.
    """
    check_same_device({"a": a, "b": b, "labels": labels, "negatives": negatives, "weights": weights,
                       "denominator_weights": denominator_weights}, cpu_ok=("labels",))
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
    duplicates = check_choice(duplicates, "duplicates", DUPLICATES)
    if duplicates == "exclude" and (b is None or labels is None):
        raise ValueError("duplicates: 'exclude' needs b (each row's positive is its pair) and labels= "
                         "(the duplicate ids)")
    if not (denominator_weights is None or isinstance(denominator_weights, Tensor) or callable(denominator_weights)):
        raise TypeError("denominator_weights: expected a tensor or a callable (rows, cols) -> tile, "
                        f"got {type(denominator_weights).__name__}")
    if b is None and group_size > 0:
        if labels is not None or weights is not None or negatives is not None:
            raise ValueError("candidates: a listwise call (b=None) takes no labels=, weights= or negatives=; "
                             "its positives are given by positive_index=")
        return _listwise(a, denominator_weights, group_size)
    if b is None:
        if labels is None and weights is None:
            raise ValueError("b: a second view is required unless labels= or weights= define positives")
        problem = _single_view(a, labels, weights, negatives, denominator_weights)
    elif mode == "two_view":
        if group_size > 0:
            raise ValueError("candidates: per-anchor candidate groups with b need mode='a_to_b' or 'symmetric'")
        problem = _two_view(a, b, labels, weights, negatives, denominator_weights, duplicates)
    elif mode == "a_to_b":
        problem = Problem((_cross(a, b, labels, weights, negatives, denominator_weights, duplicates,
                                  group_size, transpose=False),), n)
    elif mode == "symmetric":
        forward = _cross(a, b, labels, weights, negatives, denominator_weights, duplicates, group_size,
                         transpose=False)
        backward = _cross(b, a, labels, weights, None, denominator_weights, duplicates, 0, transpose=True)
        problem = Problem((forward, backward), n)
    else:
        raise ValueError(f"mode: unknown option {mode!r}; expected one of {MODES}")
    return problem


def check_group(
    a: Tensor, candidates: object, positive_index: object, *, listwise: bool
) -> tuple[Tensor, Tensor | None]:
    """Validate per-anchor candidates ``(N, K, d)`` for anchors ``a (N, d)`` and the positive index
    ``(N,)`` in ``0..K-1`` (required for a listwise call, refused when ``b`` gives the positive)."""
    group = check_embeddings(candidates, "candidates", rank=3, finite=False)
    if group.shape[0] != a.shape[0] or group.shape[1] == 0:
        raise ValueError(f"candidates: expected shape ({a.shape[0]}, K >= 1, {a.shape[1]}) (one group per row "
                         f"of a), got {tuple(group.shape)}")
    check_same_dim(a, group, "a", "candidates")
    if not listwise:
        if positive_index is not None:
            raise ValueError("positive_index: with b given the positive of row i is b[i]; the candidate "
                             "groups hold extra negatives (pass b=None for a listwise call)")
        return group, None
    if positive_index is None:
        raise ValueError("positive_index: a listwise call (b=None, candidates=) needs the (N,) index of each "
                         "row's positive among its K candidates")
    index = check_index(positive_index, a.shape[0], group.shape[1], "positive_index").to(a.device)
    return group, index


def attach_group(problem: Problem, group: Tensor, positive: Tensor | None) -> Problem:
    """Give the first direction's anchors (the rows of ``a``, in order) their own candidates."""
    first, *rest = problem.directions
    if first.anchors.shape[0] != group.shape[0]:
        raise ValueError(f"candidates: expected one group per anchor ({first.anchors.shape[0]}), "
                         f"got {group.shape[0]}")
    first = replace(first, group=group.to(first.anchors.dtype), group_positive=positive)
    return Problem((first, *rest), problem.num_samples)


def _listwise(a: Tensor, denominator_weights: SoftWeights | None, k: int) -> Problem:
    n = a.shape[0]
    index = torch.arange(n, device=a.device)
    positives = Positives(index, index[:0], None, pairs=(index[:0], index[:0])).with_group(k)
    positives = positives.with_denominator(_resolve_weights(denominator_weights, (n, k), False,
                                                            "denominator_weights"))
    return Problem((Direction(a, a[:0], positives, index, False),), n)


def _append(candidates: Tensor, negatives: Tensor | None) -> Tensor:
    if negatives is None or negatives.shape[0] == 0:
        return candidates
    return torch.cat([candidates, negatives.to(candidates.dtype)])


def _resolve_weights(
    weights: SoftWeights | None, shape: tuple[int, int], transpose: bool, name: str = "weights"
) -> SoftWeights | None:
    """A dense weight tensor checked against ``shape`` (transposed for the b->a direction, whose
    ``shape`` rows are the forward columns), or a tile callable (transposed lazily)."""
    if weights is None:
        return None
    if callable(weights) and not isinstance(weights, Tensor):
        if not transpose:
            return weights
        fn: Callable[[slice, slice], Tensor] = weights
        return lambda rows, cols: fn(cols, rows).transpose(0, 1)
    if transpose:  # the forward direction (built first) checked the full shape
        if weights.dim() != 2 or weights.shape[0] != shape[1] or weights.shape[1] < shape[0]:
            raise ValueError(f"{name}: expected shape ({shape[1]}, >= {shape[0]}) (rows of a x rows of b "
                             f"first), got {tuple(weights.shape)}")
        weights = weights[:, : shape[0]].transpose(0, 1)
    if name == "weights":
        return check_soft_weights(weights, shape, name)
    return _check_denominator(weights, shape, name)


def _resolve_soft(
    weights: SoftWeights | None, shape: tuple[int, int], transpose: bool
) -> SoftWeights | None:
    return _resolve_weights(weights, shape, transpose, "weights")


def _check_denominator(weights: Tensor, shape: tuple[int, int], name: str) -> Tensor:
    if tuple(weights.shape) != shape:
        raise ValueError(f"{name}: expected shape {shape} (anchors x candidates, extra negatives and "
                         f"per-anchor candidates included), got {tuple(weights.shape)}")
    if weights.dtype == torch.bool or weights.dtype.is_complex:
        raise TypeError(f"{name}: expected real weights, got dtype {weights.dtype}")
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError(f"{name}: expected finite non-negative weights")
    return weights.detach()


def _dense_ids(labels: Tensor) -> Tensor:
    """Labels re-indexed to ``0..G-1`` (so that ``-1``, the negative-only id, never matches)."""
    return torch.unique(labels, return_inverse=True)[1]


def _single_view(
    a: Tensor, labels: Tensor | None, weights: SoftWeights | None, negatives: Tensor | None,
    denominator_weights: SoftWeights | None,
) -> Problem:
    n = a.shape[0]
    index = torch.arange(n, device=a.device)
    ids = labels if labels is not None else index
    positives = Positives.from_labels(ids, ids, index)
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_soft(_resolve_soft(weights, (n, n), False))
    positives = positives.with_extra_negatives(m)
    positives = positives.with_denominator(_resolve_weights(denominator_weights, (n, n + m), False,
                                                            "denominator_weights"))
    shared = negatives is None or m == 0
    return Problem((Direction(a, _append(a, negatives), positives, index, shared),), n)


def _two_view(
    a: Tensor,
    b: Tensor,
    labels: Tensor | None,
    weights: SoftWeights | None,
    negatives: Tensor | None,
    denominator_weights: SoftWeights | None,
    duplicates: str,
) -> Problem:
    n = a.shape[0]
    stacked = torch.cat([a, b])
    index = torch.arange(2 * n, device=a.device)
    if labels is None or duplicates == "exclude":
        positives = Positives.views(n, 2, device=a.device)
    else:
        positives = Positives.from_labels(labels.repeat(2), labels.repeat(2), index)
    if labels is not None and duplicates == "exclude":
        ids = _dense_ids(labels).repeat(2)
        positives = positives.with_duplicates(ids, ids)
    if weights is not None:
        if isinstance(weights, Tensor) and tuple(weights.shape) == (n, n):
            weights = weights.repeat(2, 2)  # sample-level weights apply to every view pair
        positives = positives.with_soft(_resolve_soft(weights, (2 * n, 2 * n), False))
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_extra_negatives(m)
    if isinstance(denominator_weights, Tensor) and m == 0 and tuple(denominator_weights.shape) == (n, n):
        denominator_weights = denominator_weights.repeat(2, 2)  # sample pairs -> every view pair
    positives = positives.with_denominator(_resolve_weights(denominator_weights, (2 * n, 2 * n + m), False,
                                                            "denominator_weights"))
    sample = torch.arange(n, device=a.device).repeat(2)
    return Problem((Direction(stacked, _append(stacked, negatives), positives, sample, m == 0),), n)


def _cross(
    anchors: Tensor,
    candidates: Tensor,
    labels: Tensor | None,
    weights: SoftWeights | None,
    negatives: Tensor | None,
    denominator_weights: SoftWeights | None,
    duplicates: str,
    group_size: int,
    *,
    transpose: bool,
) -> Direction:
    n = anchors.shape[0]
    if labels is None or duplicates == "exclude":
        positives = Positives.paired(n, device=anchors.device)
    else:
        positives = Positives.from_labels(labels, labels, None)
    if labels is not None and duplicates == "exclude":
        ids = _dense_ids(labels)
        positives = positives.with_duplicates(ids, ids)
    positives = positives.with_soft(_resolve_soft(weights, (n, n), transpose))
    m = 0 if negatives is None else negatives.shape[0]
    positives = positives.with_extra_negatives(m).with_group(group_size)
    positives = positives.with_denominator(_resolve_weights(denominator_weights, (n, n + m + group_size),
                                                            transpose, "denominator_weights"))
    sample = torch.arange(n, device=anchors.device)
    return Direction(anchors, _append(candidates, negatives), positives, sample, False)
