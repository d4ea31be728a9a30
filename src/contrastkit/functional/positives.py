"""Sparse description of which candidates are each anchor's positives.

Positives are never stored as a dense ``(A, C)`` mask: they are group ids on both sides plus
the index of each anchor's own row among the candidates. ``tile(rows, cols)`` materialises only
the requested block, which is what lets the same loss run tiled or across devices.

- views (SimCLR):  anchor/candidate ids ``[0..N-1, 0..N-1]``, self excluded;
- labels (SupCon): ids = class labels;
- two towers (CLIP): anchors = one modality, candidates = the other, ids ``arange(N)``;
- extra negatives: candidate id ``-1`` matches no anchor;
- soft weights (CWCL, Dialog2Flow): a dense ``(A, C)`` tensor or a callable
  ``(rows: slice, cols: slice) -> Tensor`` giving the weight tile.

How much each candidate counts in an anchor's denominator is described the same way: optional
per-pair *denominator weights* ``q_ij >= 0`` (a dense tensor or a tile callable; ``q = 0`` removes
the pair) and optional *duplicate ids*: a candidate that shares the anchor's duplicate id but is
not its positive is a false negative and gets ``q = 0``. The denominator is then
``log sum_j q_ij exp(l_ij)``. Neither is ever materialised beyond the requested tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor

SoftWeights = Tensor | Callable[[slice, slice], Tensor]
NEGATIVE_ONLY = -1


@dataclass(frozen=True)
class Positives:
    """Which candidates are positives of which anchors, in sparse form.

    Attributes:
        anchor_ids: ``(A,)`` non-negative group id per anchor.
        candidate_ids: ``(C,)`` group id per candidate; ``-1`` marks a negative-only candidate.
        anchor_self: ``(A,)`` index of the anchor's own row among the candidates (excluded from
            both numerator and denominator), ``-1`` where it has none; ``None`` if no anchor has.
        soft: optional soft positive weights replacing the 0/1 id match.
        pairs: known ``(row, col)`` positive pairs, set by the constructors that know them.
        denominator: optional denominator weights ``q`` over anchors x ``(C + K)`` columns (the
            ``C`` candidates, then the ``K`` per-anchor group candidates if any); constants (no
            gradient flows into them).
        duplicate_ids: optional ``(A,)`` anchor and ``(C,)`` candidate duplicate ids (``-1`` never
            matches): a same-id candidate that is not a positive leaves the denominator.
        group_size: ``K``, the number of per-anchor group candidates after the ``C`` shared ones.
    """

    anchor_ids: Tensor
    candidate_ids: Tensor
    anchor_self: Tensor | None = None
    soft: SoftWeights | None = None
    pairs: tuple[Tensor, Tensor] | None = None
    denominator: SoftWeights | None = None
    duplicate_ids: tuple[Tensor, Tensor] | None = None
    group_size: int = 0

    @property
    def num_anchors(self) -> int:
        return int(self.anchor_ids.shape[0])

    @property
    def num_candidates(self) -> int:
        return int(self.candidate_ids.shape[0])

    # ------------------------------------------------------------------ constructors
    @staticmethod
    def views(n: int, n_views: int = 2, device: torch.device | None = None) -> Positives:
        """``n_views`` stacked views of ``n`` samples; anchors and candidates are the same rows."""
        ids = torch.arange(n, device=device).repeat(n_views)
        rows = torch.arange(n * n_views, device=device)
        pairs = None
        if n_views == 2:
            pairs = (rows, (rows + n) % (2 * n))
        return Positives(ids, ids, rows, pairs=pairs)

    @staticmethod
    def paired(n: int, device: torch.device | None = None) -> Positives:
        """Two towers: anchor ``i`` is paired with candidate ``i``; no self rows."""
        ids = torch.arange(n, device=device)
        return Positives(ids, ids, None, pairs=(ids, ids))

    @staticmethod
    def from_labels(
        anchor_labels: Tensor, candidate_labels: Tensor, anchor_self: Tensor | None
    ) -> Positives:
        """Positives share a label. Labels may be any integers; they are re-indexed jointly."""
        joint = torch.cat([anchor_labels, candidate_labels])
        _, inverse = torch.unique(joint, return_inverse=True)
        a = anchor_labels.shape[0]
        return Positives(inverse[:a], inverse[a:], anchor_self)

    # ------------------------------------------------------------------ transforms
    def with_extra_negatives(self, m: int) -> Positives:
        """Append ``m`` negative-only candidates after the existing ones."""
        if m == 0:
            return self
        if self.soft is not None:
            raise ValueError("negatives: extra negatives cannot be combined with soft weights")
        extra = torch.full((m,), NEGATIVE_ONLY, dtype=self.candidate_ids.dtype,
                           device=self.candidate_ids.device)
        duplicate_ids = self.duplicate_ids
        if duplicate_ids is not None:
            duplicate_ids = (duplicate_ids[0], torch.cat([duplicate_ids[1], extra]))
        return replace(self, candidate_ids=torch.cat([self.candidate_ids, extra]), duplicate_ids=duplicate_ids)

    def with_soft(self, soft: SoftWeights | None) -> Positives:
        return replace(self, soft=soft)

    def with_denominator(self, denominator: SoftWeights | None) -> Positives:
        """Set the denominator weights ``q`` (anchors x ``C + group_size`` columns)."""
        return replace(self, denominator=denominator)

    def with_duplicates(self, anchor_ids: Tensor, candidate_ids: Tensor) -> Positives:
        """Mark same-id non-positive candidates as false negatives (removed from the denominator)."""
        return replace(self, duplicate_ids=(anchor_ids, candidate_ids))

    def with_group(self, k: int) -> Positives:
        """Declare ``k`` per-anchor group candidates after the shared ones."""
        return replace(self, group_size=k)

    @property
    def has_denominator_weights(self) -> bool:
        return self.denominator is not None or self.duplicate_ids is not None

    def select_anchors(self, index: Tensor) -> Positives:
        """Keep only the anchors at ``index`` (used for local anchors in distributed runs).

        Callables keep addressing the original (global) anchor rows: a tile over local rows is
        assembled from calls over the contiguous runs of ``index`` (:func:`reindexed_rows`)."""
        anchor_self = None if self.anchor_self is None else self.anchor_self[index]
        duplicate_ids = None
        if self.duplicate_ids is not None:
            duplicate_ids = (self.duplicate_ids[0][index], self.duplicate_ids[1])
        return Positives(self.anchor_ids[index], self.candidate_ids, anchor_self,  # pairs recomputed
                         _select_rows(self.soft, index), None, _select_rows(self.denominator, index),
                         duplicate_ids, self.group_size)

    # ------------------------------------------------------------------ tiles
    def self_mask(self, rows: slice, cols: slice) -> Tensor | None:
        """``(r, c)`` bool tile, True where the candidate is the anchor itself."""
        if self.anchor_self is None:
            return None
        col_index = torch.arange(cols.start, cols.stop, device=self.candidate_ids.device)
        return self.anchor_self[rows].unsqueeze(1) == col_index.unsqueeze(0)

    def tile(self, rows: slice, cols: slice, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """Return ``(positive_weight, valid)`` for anchors ``rows`` and candidates ``cols``.

        ``valid`` is False on an anchor's own row; ``positive_weight`` is 0 there.
        """
        same = self.anchor_ids[rows].unsqueeze(1) == self.candidate_ids[cols].unsqueeze(0)
        own = self.self_mask(rows, cols)
        valid = torch.ones_like(same) if own is None else ~own
        if self.soft is None:
            weight = (same & valid).to(dtype)
        else:
            if isinstance(self.soft, Tensor):
                soft = self.soft[rows, cols]
            else:  # a callable's tiles are checked as they come (a dense tensor was checked once)
                shape = (rows.stop - rows.start, cols.stop - cols.start)
                soft = check_soft_weights(self.soft(rows, cols), shape, "weights", device=same.device)
            weight = soft.to(dtype) * valid.to(dtype)
        return weight, valid

    def dense(self, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
        """The whole ``(A, C)`` block; for references and small batches only."""
        return self.tile(slice(0, self.num_anchors), slice(0, self.num_candidates), dtype)

    def denominator_tile(self, rows: slice, cols: slice, dtype: torch.dtype) -> Tensor | None:
        """``(r, c)`` denominator weights ``q`` of anchors ``rows`` x columns ``cols`` (columns
        ``>= C`` are the per-anchor group slots), or ``None`` when every ``q`` is 1.

        Duplicates (same duplicate id, not a positive) get ``q = 0``; the anchor's own row is not
        handled here (it is invalid everywhere). The weights are constants: no gradient."""
        if not self.has_denominator_weights:
            return None
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        q = None
        if self.denominator is not None:
            given = self.denominator
            if isinstance(given, Tensor):  # checked whole when the problem was built
                q = given[rows, cols]
            else:
                q = check_denominator_tile(given(rows, cols), shape, device=self.anchor_ids.device)
            q = q.detach().to(dtype, copy=True)  # callers modify it in place
        if self.duplicate_ids is not None and cols.start < self.num_candidates:
            shared = slice(cols.start, min(cols.stop, self.num_candidates))
            aid, cid = self.duplicate_ids
            same = aid[rows].unsqueeze(1) == cid[shared].unsqueeze(0)
            if self.soft is None:
                positive = self.anchor_ids[rows].unsqueeze(1) == self.candidate_ids[shared].unsqueeze(0)
            else:
                positive = self.tile(rows, shared, dtype)[0] > 0
            keep = ~(same & ~positive)
            if q is None:
                q = torch.ones(shape, dtype=dtype, device=keep.device)
            q[:, : keep.shape[1]] *= keep.to(dtype)
        return q


def _select_rows(weights: SoftWeights | None, index: Tensor) -> SoftWeights | None:
    if weights is None:
        return None
    if isinstance(weights, Tensor):
        return weights[index]
    return reindexed_rows(weights, index)


def reindexed_rows(fn: Callable[[slice, slice], Tensor], index: Tensor) -> Callable[[slice, slice], Tensor]:
    """A tile callable over the rows ``index`` of ``fn``'s rows: local row ``r`` is ``fn``'s row
    ``index[r]``. Each requested tile is one call per contiguous run of ``index`` (two for the
    local anchors of a two-view batch on one rank)."""
    index_list = [int(i) for i in index.tolist()]

    def tile(rows: slice, cols: slice) -> Tensor:
        picked = index_list[rows.start:rows.stop]
        if not picked:
            return fn(slice(0, 0), cols)
        parts, start = [], 0
        for k in range(1, len(picked) + 1):
            if k == len(picked) or picked[k] != picked[k - 1] + 1:
                parts.append(fn(slice(picked[start], picked[k - 1] + 1), cols))
                start = k
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    return tile


def check_denominator_tile(
    q: object, shape: tuple[int, int], name: str = "denominator_weights", *, device: torch.device | None = None
) -> Tensor:
    """A denominator-weight tile: a tensor of the requested shape (on ``device``), finite and non-negative."""
    if not isinstance(q, Tensor):
        raise TypeError(f"{name}: expected a tensor (or a callable returning one), got {type(q).__name__}")
    if tuple(q.shape) != shape:
        raise ValueError(f"{name}: expected a tile of shape {shape} (anchors x candidates), got {tuple(q.shape)}")
    if device is not None and q.device != device:
        raise ValueError(f"{name}: expected weights on {device} (the device of the embeddings), got {q.device}")
    if q.dtype == torch.bool or q.dtype.is_complex:
        raise TypeError(f"{name}: expected real weights, got dtype {q.dtype}")
    if not bool(torch.isfinite(q).all()) or bool((q < 0).any()):
        raise ValueError(f"{name}: expected finite non-negative weights")
    return q


def check_soft_weights(
    weights: Tensor, shape: tuple[int, int], name: str = "weights", *, device: torch.device | None = None
) -> Tensor:
    """Soft positive weights (a whole matrix, or one tile returned by a callable): finite,
    non-negative, of the anchor x candidate shape (and on ``device`` when given)."""
    if not isinstance(weights, Tensor):
        raise TypeError(f"{name}: expected a tensor or a callable returning tensors, got {type(weights).__name__}")
    if tuple(weights.shape) != shape:
        raise ValueError(f"{name}: expected shape {shape} (anchors x candidates), got "
                         f"{tuple(weights.shape)}")
    if device is not None and weights.device != device:
        raise ValueError(f"{name}: expected weights on {device} (the device of the embeddings), got {weights.device}")
    if weights.dtype.is_complex:
        raise TypeError(f"{name}: expected real-valued weights, got {weights.dtype}")
    if not torch.isfinite(weights).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    if (weights < 0).any():
        raise ValueError(f"{name}: expected non-negative weights")
    return weights


def positive_pairs(positives: Positives, limit: int | None) -> tuple[Tensor, Tensor] | None:
    """Sparse ``(anchor, candidate)`` positive pairs (same id, not self), or ``None`` if there are
    more than ``limit``. Cost ``O((A + C) log C + pairs)``."""
    if positives.pairs is not None:
        return positives.pairs
    aid, cid = positives.anchor_ids, positives.candidate_ids
    order = torch.argsort(cid, stable=True)
    sorted_ids = cid[order]
    start = torch.searchsorted(sorted_ids, aid, right=False)
    stop = torch.searchsorted(sorted_ids, aid, right=True)
    count = stop - start
    total = int(count.sum())
    if limit is not None and total > limit:
        return None
    rows = torch.repeat_interleave(torch.arange(aid.shape[0], device=aid.device), count)
    offset = torch.arange(total, device=aid.device) - torch.repeat_interleave(
        torch.cumsum(count, 0) - count, count)
    cols = order[torch.repeat_interleave(start, count) + offset]
    if positives.anchor_self is not None:
        keep = cols != positives.anchor_self[rows]
        rows, cols = rows[keep], cols[keep]
    return rows, cols
