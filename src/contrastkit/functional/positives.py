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
    """

    anchor_ids: Tensor
    candidate_ids: Tensor
    anchor_self: Tensor | None = None
    soft: SoftWeights | None = None
    pairs: tuple[Tensor, Tensor] | None = None  # known (row, col) positive pairs, set by constructors

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
        return replace(self, candidate_ids=torch.cat([self.candidate_ids, extra]))

    def with_soft(self, soft: SoftWeights | None) -> Positives:
        return replace(self, soft=soft)

    def select_anchors(self, index: Tensor) -> Positives:
        """Keep only the anchors at ``index`` (used for local anchors in distributed runs)."""
        if isinstance(self.soft, Tensor):
            soft: SoftWeights | None = self.soft[index]
        elif self.soft is None:
            soft = None
        else:
            raise ValueError("weights: a callable cannot be re-indexed; pass a dense tensor")
        anchor_self = None if self.anchor_self is None else self.anchor_self[index]
        return Positives(self.anchor_ids[index], self.candidate_ids, anchor_self, soft)  # pairs recomputed

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
