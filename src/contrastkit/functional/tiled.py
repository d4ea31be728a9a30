"""Tiled InfoNCE family: memory ``O(B·d + tile²)`` plus an optional tile cache of bounded size.

For anchor ``i`` with logits ``l_ij = <x_i, y_j>`` (the temperature is folded into the inputs,
``x = prepare(a) / tau``) the InfoNCE family is (see :func:`contrastkit.functional.forms.info_nce_rows`)::

    L_i = lse_i - w_i * (sum_j p_ij l_ij) / (sum_j p_ij),      lse_i = log sum_{j in D(i)} exp(l_ij)

``D(i)`` is every valid candidate (InfoNCE) or every valid non-positive one (DCL); ``w_i`` is
DCLW's detached weight or 1. Only ``lse`` needs all ``B`` columns at once. :class:`TiledLogSumExp`
computes it with an *online* (streaming, max-shifted) log-sum-exp over column tiles::

    m_i <- max(m_i, max_j l_ij),   s_i <- s_i * exp(m_i_old - m_i) + sum_j exp(l_ij - m_i)

saving only ``lse_i = m_i + log s_i`` (``O(B)``). Backward recomputes each tile; with the upstream
gradient ``g_i`` of ``lse_i`` (and ``h_i`` of the soft numerator ``sum_j p_ij l_ij``, which the
loss enters with ``-w_i / sum_j p_ij``, so ``h_i`` carries that sign)::

    G_ij = g_i * exp(l_ij - lse_i) [j in D(i)] + h_i * p_ij,    dX += G Y,   dY += G^T X

so a tile costs one GEMM forward and three backward (the three-GEMM floor plus the recompute).
Inside the kernel the logits are in base 2 (``t = l log2 e``, folded into the inputs), so every
exponential is an ``exp2`` (several times cheaper than ``exp`` on CPU, same values); when
Cauchy-Schwarz bounds every ``|t|`` by half the shift window (cosine with ``tau >= 0.05`` in
float32) the shift is a fixed 0 and a tile needs no maximum, else each tile is shifted by its own.
The *tile cache* (``tile_cache_mb``) removes the recompute where it fits: forward keeps a tile's
``exp(l_ij - c)`` (one shift ``c`` per tile) and backward forms ``G`` from it directly, so the
similarity matrix is held only up to the stated budget and never built whole beyond it.
Two structures are exploited exactly:

- *shared* (two-view SimCLR / SupCon without extra negatives): anchors == candidates, the logit
  matrix ``X X^T`` is symmetric and so are the excluded pairs (self, DCL positives), so only tiles
  ``J >= I`` are computed; tile ``(I, J)`` updates the row statistics of block ``I`` and (through its
  transpose) of block ``J``; backward uses ``H = G_IJ + G_JI^T`` for both ``dX_I += H X_J`` and
  ``dX_J += H^T X_I``. Total: two GEMMs of ``B² d`` instead of four.
- *bidirectional* (CLIP): the b->a logits are the transpose of the a->b ones, so each tile updates
  row (a->b) and column (b->a) statistics and one backward ``H`` serves both directions.

Denominator weights ``q_ij`` (and duplicates, ``q = 0``) enter each tile as ``l_ij + log q_ij`` after
the exclusions: the row statistic becomes ``log sum_j q_ij exp(l_ij)`` and the same recomputed tile
gives its gradient ``exp(l_ij + log q_ij - lse_i)``. Per-anchor candidate groups ``(A, K, d)`` are
scored outside the tiles (``O(A K)`` logits) and joined with ``logaddexp``.

Hard positives (ids) in general never enter the tiles: the numerator ``sum_{j in P(i)} l_ij`` is
computed outside the autograd function from sparse ``(i, j)`` pairs or per-id sums of candidates
(``x_i · sum_{j: id_j = id_i} y_j``), so autograd differentiates it in ``O(B·d)``. One pattern is
read off the tiles instead (:attr:`TileLayout.aligned`, not in the shared kernel): anchor ``i``'s
only positive is candidate ``(i + k) mod C`` (CLIP's pairs, ``k = 0``), so ``l_{i, i+k}`` lies on
one or two diagonals of a tile; forward copies it before the exclusions and backward adds
``d L / d num_i`` to ``H`` there, which costs no ``(B, d)`` pass and no gradient buffers. Soft weights
(a dense tensor or a callable) are evaluated per tile inside the function.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit._validation import check_non_negative_float, check_tile_size, compute_dtype
from contrastkit.functional._autograd import first_order_only
from contrastkit.functional.positives import Positives, positive_pairs
from contrastkit.functional.problem import Direction
from contrastkit.functional.similarity import Cosine, Dot, Similarity, normalize_scaled

NEG_INF = float("-inf")
# Above this many positive pairs per anchor, id-based exclusion uses a dense id comparison per
# tile instead of a sparse pair list.
SPARSE_PAIRS_PER_ROW = 8


# ---------------------------------------------------------------------------------------- layout
@dataclass
class TileLayout:
    """Which logits of a tile are excluded from the denominator, and soft positive weights.

    Attributes:
        row_ids / col_ids: positive ids of anchors / candidates (``-1`` never matches).
        self_col: ``(R,)`` candidate index of each anchor's own row (``-1``: none), or ``None``.
        exclude_positives: DCL: positives leave the denominator.
        pairs: ``(rows, cols, row_ptr)`` sparse excluded pairs sorted by row (self and, for DCL,
            positives), or ``None`` when ``dense_ids`` compares ids per tile.
        soft: positives whose ``tile`` gives soft weights (the soft path), or ``None``.
        weighted: positives whose ``denominator_tile`` gives denominator weights, or ``None``.
        aligned: ``k`` when anchor ``i``'s only positive is candidate ``(i + k) mod C`` (hard
            positives): the kernel then reads the positive logits off the tiles' diagonals and adds
            their gradient there (no ``O(B d)`` numerator pass, no gradient buffers of its own).
    """

    row_ids: Tensor
    col_ids: Tensor
    self_col: Tensor | None
    exclude_positives: bool
    pairs: tuple[Tensor, Tensor, Tensor] | None
    dense_ids: bool
    soft: Positives | None
    weighted: Positives | None = None
    aligned: int | None = None

    def exclude_(self, s: Tensor, rows: slice, cols: slice) -> Tensor:
        """Set excluded logits of base-2 tile ``s`` (anchors ``rows`` x candidates ``cols``) to ``-inf``
        and add ``log2 q`` of the denominator weights."""
        self._exclude(s, rows, cols)
        if self.weighted is not None:
            q = self.weighted.denominator_tile(rows, cols, s.dtype)
            if q is not None:
                s.add_(q.log2_())  # the tiles are base-2 logits (see the kernel)
        return s

    def _exclude(self, s: Tensor, rows: slice, cols: slice) -> Tensor:
        if self.soft is not None:
            weight, valid = self.soft.tile(rows, cols, s.dtype)
            den = valid if not self.exclude_positives else valid & (weight <= 0)
            return s.masked_fill_(~den, NEG_INF)
        if self.dense_ids:
            same = self.row_ids[rows].unsqueeze(1) == self.col_ids[cols].unsqueeze(0)
            s.masked_fill_(same, NEG_INF)
        if self.pairs is not None:
            pr, pc, ptr = self.pairs
            lo, hi = int(ptr[rows.start]), int(ptr[rows.stop])
            if hi > lo:
                r, c = pr[lo:hi], pc[lo:hi]
                keep = (c >= cols.start) & (c < cols.stop)
                s[r[keep] - rows.start, c[keep] - cols.start] = NEG_INF
        return s


def _pairs_from(rows: Tensor, cols: Tensor, n_rows: int) -> tuple[Tensor, Tensor, Tensor]:
    order = torch.argsort(rows, stable=True)
    rows, cols = rows[order], cols[order]
    ptr = torch.zeros(n_rows + 1, dtype=torch.long, device=rows.device)
    ptr[1:] = torch.cumsum(torch.bincount(rows, minlength=n_rows), 0)
    return rows, cols, ptr


def build_layout(positives: Positives, exclude_positives: bool, read_positives: bool = False) -> TileLayout:
    """Prepare the per-tile exclusion rule of a direction (see :class:`TileLayout`). ``read_positives``
    (non-shared kernel only): set ``aligned`` when the hard positives are aligned, so the kernel reads
    them off its tiles."""
    n_rows = positives.num_anchors
    weighted = positives if positives.has_denominator_weights else None
    if positives.soft is not None:
        return TileLayout(positives.anchor_ids, positives.candidate_ids, positives.anchor_self,
                          exclude_positives, None, False, positives, weighted)
    rows_list, cols_list = [], []
    if positives.anchor_self is not None:
        own = positives.anchor_self >= 0
        rows_list.append(torch.arange(n_rows, device=own.device)[own])
        cols_list.append(positives.anchor_self[own])
    dense_ids = False
    if exclude_positives:
        pairs = positive_pairs(positives, SPARSE_PAIRS_PER_ROW * n_rows)
        if pairs is None:
            dense_ids = True
        else:
            rows_list.append(pairs[0])
            cols_list.append(pairs[1])
    sparse = None
    if rows_list:
        sparse = _pairs_from(torch.cat(rows_list), torch.cat(cols_list), n_rows)
    aligned = aligned_offset(positives, positives.num_candidates) if read_positives else None
    return TileLayout(positives.anchor_ids, positives.candidate_ids, positives.anchor_self,
                      exclude_positives, sparse, dense_ids, None, weighted, aligned)


# ---------------------------------------------------------------------------------------- kernel
# The kernel works in base-2 units: ``t = l * log2(e)`` (folded into the inputs, O(B d)), so every
# exponential is ``exp2``, which PyTorch's CPU kernels compute about 3.5x faster than ``exp`` (the
# largest elementwise cost per logit); ``exp2(t - c) = exp(l - c ln 2)`` gives the same values.
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
# Tile-sized scratch buffers of the kernel (the forward's two, reused by its backward).
SCRATCH_TILES = 2


def _blocks(n: int, tile: int) -> list[slice]:
    return [slice(i, min(i + tile, n)) for i in range(0, n, tile)]


def _positive_segments(rows: slice, cols: slice, k: int, n_cols: int) -> list[tuple[int, int, int, int]]:
    """Where the aligned positives ``(i, (i + k) mod C)`` of tile ``rows x cols`` lie: ``(offset, lo,
    hi, start)`` per run, the anchors ``lo..hi-1`` being entries ``start..`` of the tile's diagonal
    ``offset`` (at most two runs: before and after the wrap at ``C``)."""
    out = []
    for shift, first, last in ((k, rows.start, n_cols - k), (k - n_cols, n_cols - k, rows.stop)):
        lo = max(rows.start, cols.start - shift, first)
        hi = min(rows.stop, cols.stop - shift, last)
        if hi > lo:
            offset = shift + rows.start - cols.start
            out.append((offset, lo, hi, lo - rows.start - max(0, -offset)))
    return out


def _shift_window(dtype: torch.dtype) -> float:
    """Largest spread ``L`` (in bits) of a shared tile shift: ``exp2(t - c)`` is exact for
    ``t >= c - L`` and the entries that underflow (``t < c - L - 68``) weigh below ``2^-68`` of their
    row's maximum."""
    return (600.0 if dtype == torch.float64 else 40.0) * LOG2E


def _logit_bound(xb: Tensor, yb: Tensor) -> float:
    """``max_ij |t_ij|`` bound (Cauchy-Schwarz) of the base-2 logits ``xb yb^T``."""
    return float(torch.linalg.vector_norm(xb, dim=1).amax() * torch.linalg.vector_norm(yb, dim=1).amax())


def _base2_inputs(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """Inputs whose products are base-2 logits ``t = l log2(e)``: ``x log2(e)`` against ``y``, or
    ``x sqrt(log2(e))`` against itself (shared)."""
    if y is None:
        xb = x * math.sqrt(LOG2E)
        return xb, xb
    return x * LOG2E, y


def _online_update(m: Tensor, s: Tensor, e: Tensor, dim: int) -> None:
    """Fold tile ``e`` (base-2 logits; destroyed) into running max ``m`` and scaled sum ``s`` along ``dim``."""
    m_new = torch.maximum(m, e.amax(dim))
    shift = m_new.nan_to_num(neginf=0.0)  # all -inf so far: any finite shift, exp2(-inf) = 0
    s.mul_(torch.exp2(m - shift))
    e.sub_(shift.unsqueeze(dim)).exp2_()
    s.add_(e.sum(dim))
    m.copy_(m_new)


def _merge(m: Tensor, s: Tensor, tile_max: Tensor, c: float, tile_sum: Tensor) -> None:
    """Fold ``tile_sum = sum_j exp2(t_ij - c)`` into the running ``(m, s)``; rows whose tile maximum
    is ``-inf`` (all excluded) keep their shift."""
    m_new = torch.maximum(m, torch.where(torch.isinf(tile_max), tile_max, c))
    shift = m_new.nan_to_num(neginf=0.0)
    s.mul_(torch.exp2(m - shift)).add_(tile_sum * torch.exp2((c - shift).clamp_max(0)))
    m.copy_(m_new)


def _finite_range(*values: Tensor) -> tuple[float, float] | None:
    """``(min, max)`` over the finite entries, ``None`` if there are none."""
    parts = [v[torch.isfinite(v)] for v in values]
    joined = torch.cat(parts) if len(parts) > 1 else parts[0]
    if joined.numel() == 0:
        return None
    return float(joined.min()), float(joined.max())


def _column_sums(e: Tensor, width: int, ones: Tensor) -> Tensor:
    return torch.mv(e[:, :width].T, ones[: e.shape[0]])


def _forward_tile(
    s: Tensor, recompute: Callable[[], Tensor], buf2: Tensor, ones: Tensor,
    row_stats: tuple[Tensor, Tensor], col_stats: tuple[Tensor, Tensor] | None, col_width: int,
    window: float, fixed: bool,
) -> float | None:
    """Update row statistics (and those of the first ``col_width`` columns) with base-2 logit tile ``s``.

    ``fixed``: every finite ``|t_ij| <= window / 2`` (:func:`_logit_bound`), so ``exp2(t)`` neither
    overflows nor underflows and the shift is ``c = 0`` for every tile: one ``exp2`` pass, no tile
    maximum, and the running maxima stay 0.

    Otherwise one shift ``c`` (the tile maximum) for every row and column, so ``E = exp2(s - c)``
    is computed once and gives both row and column sums. It is kept when every non-empty row and
    column sum is ``>= 2^-window`` (its largest term is then within ``window + log2(tile)`` of
    ``c``, and the terms lost to underflow weigh below ``2^-55`` of it). Otherwise the tile is
    recomputed and folded in with the exact per-row and per-column online update.

    Returns the shift ``c`` when the fast path was kept (``s`` then holds ``exp2(t - c)``, which the
    tile cache may keep for backward), else ``None`` (``s`` is destroyed)."""
    if fixed:
        e = s.exp2_()
        row_stats[1].add_(e.sum(1))
        if col_stats is not None:
            col_stats[1].add_(_column_sums(e, col_width, ones))
        return 0.0
    rmax = s.amax(1)
    finite = rmax[torch.isfinite(rmax)]
    if finite.numel() == 0:
        return None  # every entry excluded
    c = float(finite.max())
    e = s.sub_(c).exp2_()
    floor = 2.0 ** -window
    row_sum = e.sum(1)
    ok = bool(((row_sum >= floor) | torch.isinf(rmax)).all())
    col_sum = None
    if col_stats is not None:
        col_sum = _column_sums(e, col_width, ones)
        ok = ok and bool((col_sum >= floor).all())
    if ok:
        _merge(*row_stats, rmax, c, row_sum)
        if col_stats is not None and col_sum is not None:
            _merge(*col_stats, torch.zeros_like(col_sum), c, col_sum)
        return c
    s = recompute()
    if col_stats is not None:
        part = buf2[: s.shape[0], :col_width]
        part.copy_(s[:, :col_width])
        _online_update(*col_stats, part, 0)
    _online_update(*row_stats, s, 1)
    return None


def _gradient_factor(e: Tensor, alpha: Tensor, beta: Tensor | None, width: int, buf2: Tensor) -> Tensor:
    """``e * (alpha_i + beta_j)`` in place (``beta`` over the first ``width`` columns only)."""
    if beta is None:
        return e.mul_(alpha.unsqueeze(1))
    full = torch.zeros(e.shape[1], dtype=e.dtype, device=e.device)
    full[:width] = beta
    both = torch.add(alpha.unsqueeze(1), full.unsqueeze(0), out=buf2[: e.shape[0], : e.shape[1]])
    return e.mul_(both)


def _factor(lse: Tensor, g: Tensor, c: float, cap: float) -> Tensor:
    """``g * 2^(c - lse)`` (base-2 ``lse``), 0 where ``lse = -inf`` (no denominator entry)."""
    return torch.where(torch.isfinite(lse), g * torch.exp2((c - lse).clamp_max(cap)), 0.0)


def _tile_gradient(
    e: Tensor, c: float, buf2: Tensor, lse_r: Tensor, g_r: Tensor, lse_c: Tensor | None,
    g_c: Tensor | None, cap: float,
) -> Tensor:
    """``H = e * (alpha_i + beta_j)`` in place from ``e = exp2(t - c)``: ``alpha_i = g_r_i 2^(c - lse_r_i)``,
    ``beta_j = g_c_j 2^(c - lse_c_j)`` (base-2 ``lse``; exponents clamped at ``cap``)."""
    alpha = _factor(lse_r, g_r, c, cap)
    if lse_c is None or g_c is None:
        return _gradient_factor(e, alpha, None, 0, buf2)
    return _gradient_factor(e, alpha, _factor(lse_c, g_c, c, cap), lse_c.shape[0], buf2)


def _cached_backward_tile(
    e: Tensor, c: float, buf2: Tensor, lse_r: Tensor, g_r: Tensor, lse_c: Tensor | None,
    g_c: Tensor | None, cap: float,
) -> Tensor:
    """``H_ij = g_r_i 2^(t_ij - lse_r_i) + g_c_j 2^(t_ij - lse_c_j)`` (base-2 ``lse``) from a cached
    tile ``e = exp2(t - c)`` (destroyed): :func:`_tile_gradient`.

    The forward kept ``e`` only where every non-empty row and column sum of it is at least
    ``2^-window`` (or every ``|t| <= window / 2``, ``c = 0``), so ``c - lse <= window + log2(tile)``
    for every row and column holding a denominator entry; the exponent is clamped at ``cap`` (that
    bound) so that a row whose entries of this tile are all excluded (its ``e`` row is 0) gets a
    finite factor, not ``0 * inf``."""
    return _tile_gradient(e, c, buf2, lse_r, g_r, lse_c, g_c, cap)


def _backward_tile(
    s: Tensor, buf2: Tensor, lse_r: Tensor, g_r: Tensor, lse_c: Tensor | None, g_c: Tensor | None,
    window: float, fixed: bool, cap: float,
) -> Tensor:
    """``H_ij = g_r_i 2^(t_ij - lse_r_i) + g_c_j 2^(t_ij - lse_c_j)`` for base-2 tile ``s`` (destroyed;
    base-2 ``lse``; the column term only for the first ``len(lse_c)`` columns).

    ``fixed`` (every ``|t| <= window / 2``): ``H = exp2(t) * (alpha_i + beta_j)`` with
    ``alpha_i = g_r_i 2^-lse_r_i`` (no overflow: ``lse >= max_j t_ij >= -window / 2``). Otherwise
    ``exp2(t_ij - c)`` once, with ``c`` the largest ``lse`` of the tile, then the same product with
    ``alpha_i = g_r_i 2^(c - lse_r_i)``; valid since ``t_ij <= lse`` for every entry of a denominator
    and the spread of ``lse`` is ``<= window``; else per-row and per-column shifts."""
    width = 0 if lse_c is None else lse_c.shape[0]
    if fixed:
        return _tile_gradient(s.exp2_(), 0.0, buf2, lse_r, g_r, lse_c, g_c, cap)
    span = _finite_range(lse_r) if lse_c is None else _finite_range(lse_r, lse_c)
    if span is None:
        return s.zero_()
    lo, c = span
    if c - lo <= window:
        return _tile_gradient(s.sub_(c).exp2_(), c, buf2, lse_r, g_r, lse_c, g_c, cap)
    safe_r = torch.where(torch.isinf(lse_r), float("inf"), lse_r)  # empty rows: exp2(t - inf) = 0
    if lse_c is not None and g_c is not None:
        safe_c = torch.where(torch.isinf(lse_c), float("inf"), lse_c)
        h2 = buf2[: s.shape[0], : s.shape[1]]
        h2[:, width:].zero_()
        torch.sub(s[:, :width], safe_c.unsqueeze(0), out=h2[:, :width]).exp2_().mul_(g_c.unsqueeze(0))
        return s.sub_(safe_r.unsqueeze(1)).exp2_().mul_(g_r.unsqueeze(1)).add_(h2)
    return s.sub_(safe_r.unsqueeze(1)).exp2_().mul_(g_r.unsqueeze(1))


class TileCache:
    """Reusable storage of the tile cache: one flat buffer, lent to one forward at a time.

    A fresh buffer costs its page faults on CPU at every call (measured: about as much as the
    GEMMs the cache saves at d = 128), so a loss module keeps one of these and the same pages
    serve every step. The buffer grows to the largest amount a call has used (never beyond that
    call's budget) and is held until the object is dropped. It is lent to a forward until its
    backward has run or its graph is freed; a second forward before that (two loss calls in one
    step) gets a fresh buffer instead, so lent storage is never shared.
    """

    def __init__(self) -> None:
        self._storage: Tensor | None = None
        self._owner: weakref.ref[object] | None = None

    def acquire(self, numel: int, dtype: torch.dtype, device: torch.device, owner: object) -> Tensor:
        """A ``(numel,)`` buffer for ``owner`` (the autograd context of the forward using it)."""
        busy = self._owner is not None and self._owner() is not None
        if busy:
            return torch.empty(numel, dtype=dtype, device=device)
        store = self._storage
        if store is None or store.numel() < numel or store.dtype != dtype or store.device != device:
            self._storage = None  # release the old pages before taking new ones
            store = self._storage = torch.empty(numel, dtype=dtype, device=device)
        self._owner = weakref.ref(owner)
        return store[:numel]

    def release(self, owner: object) -> None:
        """Return the buffer after ``owner``'s backward."""
        if self._owner is not None and self._owner() is owner:
            self._owner = None

    # Scratch, not state: a pickled or copied module (torch.save(model), spawn, EMA copies) starts
    # with an empty cache, so neither the lender's weak reference (unpicklable) nor up to the whole
    # budget of stale tiles travel with it.
    def __getstate__(self) -> dict[str, None]:
        return {"_storage": None, "_owner": None}

    def __setstate__(self, state: dict[str, None]) -> None:
        self._storage, self._owner = None, None

    def __deepcopy__(self, memo: dict[int, object]) -> TileCache:
        return TileCache()

    @property
    def nbytes(self) -> int:
        """Bytes held between calls."""
        return 0 if self._storage is None else self._storage.numel() * self._storage.element_size()


def _take_kept(cache: dict[tuple[int, int], tuple[Tensor, float]], key: tuple[int, int]) -> tuple[Tensor, float] | None:
    """The kept ``(exp2(t - c), c)`` of tile ``key``, removed from the cache (``None``: recompute)."""
    return cache.pop(key, None)


def _cache_numel(row_blocks: list[slice], col_blocks: list[slice], shared: bool, budget_numel: int) -> int:
    """Entries the cache may need: every computed tile, capped at the budget."""
    total = 0
    for bi, rows in enumerate(row_blocks):
        for bj, cols in enumerate(col_blocks):
            if not (shared and bj < bi):
                total += (rows.stop - rows.start) * (cols.stop - cols.start)
    return min(total, budget_numel)


class TiledLogSumExp(torch.autograd.Function):
    """Row (and column) log-sum-exp of ``X Y^T`` over the denominator sets, tile by tile.

    Inputs: ``x (R, d)``, ``y (C, d)`` or ``None`` (shared: ``y = x``, symmetric); ``n_col`` > 0
    asks for column statistics over the first ``n_col`` columns (CLIP's b->a direction).
    Outputs ``(lse_rows (R,), lse_cols (n_col,), num (R,), total (R,))`` where ``num_i = sum_j p_ij
    l_ij`` and ``total_i = sum_j p_ij`` for soft weights, ``num_i = l_{i, (i+k) mod C}`` and
    ``total_i = 1`` for aligned hard positives (:attr:`TileLayout.aligned`), else empty. Saved for
    backward: the base-2 inputs, the ``O(B)`` statistics and two tile-sized scratch buffers
    (:data:`SCRATCH_TILES`), which backward reuses.

    ``cache_bytes`` > 0 is the tile cache: forward keeps the exponentiated tiles ``exp(l - c)`` of
    its fast path until their total, scratch included, reaches ``cache_bytes``, and backward uses a
    kept tile instead of recomputing its similarity GEMM and its ``exp`` (CLIP: three GEMMs of
    ``B² d`` instead of four; shared: 1.5 instead of 2). Tiles beyond the budget, and tiles that
    took the exact online update, are recomputed as without a cache. Each kept tile is released
    once backward has used it (a second backward recomputes). Kept tiles and scratch live in
    ``store``'s buffer (a :class:`TileCache`, reused across calls) or, when ``store`` is ``None``,
    in a fresh one.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        layout: TileLayout,
        tile: int,
        n_col: int,
        cache_bytes: int,
        store: TileCache | None,
        x: Tensor,
        y: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        shared = y is None
        if shared and layout.aligned is not None:
            raise ValueError("layout.aligned: the shared (symmetric) kernel takes its positives outside the tiles")
        n_rows, n_cols = x.shape[0], (x if shared else y).shape[0]  # type: ignore[union-attr]
        dtype, device = x.dtype, x.device
        xb, yb = _base2_inputs(x, y)
        window = _shift_window(dtype)
        fixed = layout.weighted is None and _logit_bound(xb, yb) <= window / 2
        m_r = torch.full((n_rows,), 0.0 if fixed else NEG_INF, dtype=dtype, device=device)
        s_r = torch.zeros(n_rows, dtype=dtype, device=device)
        m_c = torch.full((n_col,), 0.0 if fixed else NEG_INF, dtype=dtype, device=device)
        s_c = torch.zeros(n_col, dtype=dtype, device=device)
        soft = layout.soft is not None
        aligned = layout.aligned
        num = torch.zeros(n_rows if soft or aligned is not None else 0, dtype=dtype, device=device)
        tot = (torch.ones(n_rows, dtype=dtype, device=device) if aligned is not None
               else torch.zeros(n_rows if soft else 0, dtype=dtype, device=device))
        shape = (min(tile, n_rows), min(tile, n_cols))
        scratch = SCRATCH_TILES * shape[0] * shape[1]
        row_blocks, col_blocks = _blocks(n_rows, tile), _blocks(n_cols, tile)
        kept_numel = 0
        if cache_bytes > 0:
            # The budget covers what is live beside the kept tiles too: the kernel's tile-sized
            # scratch and backward's gradient accumulators (dX, dY), so that the extra memory of
            # the cached path, not only its kept tiles, stays within the stated budget.
            beside = scratch + x.numel() + (0 if shared else y.numel())  # type: ignore[union-attr]
            kept_numel = _cache_numel(row_blocks, col_blocks, shared,
                                      max(cache_bytes // x.element_size() - beside, 0))
        numel = scratch + kept_numel
        flat = (torch.empty(numel, dtype=dtype, device=device) if store is None
                else store.acquire(numel, dtype, device, ctx))
        buf = flat[: scratch // 2].view(shape)
        buf2 = flat[scratch // 2: scratch].view(shape)
        ones = torch.ones(shape[0], dtype=dtype, device=device)
        cache: dict[tuple[int, int], tuple[Tensor, float]] = {}
        offset = scratch
        for bi, rows in enumerate(row_blocks):
            xi = xb[rows]
            for bj, cols in enumerate(col_blocks):
                if shared and bj < bi:
                    continue
                tshape = (rows.stop - rows.start, cols.stop - cols.start)
                size = tshape[0] * tshape[1]
                slot = None
                if offset + size <= numel:
                    slot = flat[offset: offset + size].view(tshape)
                s = buf[: tshape[0], : tshape[1]] if slot is None else slot
                torch.mm(xi, yb[cols].T, out=s)
                if aligned is not None:  # the positive logits, before any exclusion
                    for diag, lo, hi, start in _positive_segments(rows, cols, aligned, n_cols):
                        num[lo:hi] = s.diagonal(diag)[start: start + hi - lo]
                if soft:
                    weight, _ = layout.soft.tile(rows, cols, dtype)  # type: ignore[union-attr]
                    num[rows] += (weight * s).sum(1)
                    tot[rows] += weight.sum(1)
                layout.exclude_(s, rows, cols)

                def recompute(s: Tensor = s, xi: Tensor = xi, rows: slice = rows,
                              cols: slice = cols) -> Tensor:
                    torch.mm(xi, yb[cols].T, out=s)
                    return layout.exclude_(s, rows, cols)

                if shared and bj > bi:
                    col_stats, width = (m_r[cols], s_r[cols]), s.shape[1]
                elif not shared and cols.start < n_col:
                    stop = min(cols.stop, n_col)
                    col_stats, width = (m_c[cols.start:stop], s_c[cols.start:stop]), stop - cols.start
                else:
                    col_stats, width = None, 0
                c = _forward_tile(s, recompute, buf2, ones, (m_r[rows], s_r[rows]), col_stats, width,
                                  window, fixed)
                if slot is not None and c is not None:
                    cache[(bi, bj)] = (slot, c)
                    offset += size  # else the next tile reuses the slot
        # Natural-log statistics: lse = ln 2 * (m + log2 s).
        lse_r = (m_r + torch.log2(s_r)).mul_(LN2)
        lse_c = (m_c + torch.log2(s_c)).mul_(LN2)
        ctx.layout, ctx.tile, ctx.n_col, ctx.shared = layout, tile, n_col, shared
        ctx.cache, ctx.store, ctx.fixed, ctx.scratch = cache, store, fixed, (buf, buf2)
        # The base-2 inputs, not x: backward then allocates no (B, d) copy of its own (the scale is
        # undone on the gradient that multiplies x, in place).
        ctx.save_for_backward(xb, None if shared else yb, lse_r, lse_c)
        ctx.mark_non_differentiable(tot)
        return lse_r, lse_c, num.mul_(LN2), tot

    @staticmethod
    @first_order_only
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        g_r: Tensor,
        g_c: Tensor,
        g_num: Tensor,
        _g_tot: Tensor,
    ) -> tuple[None, None, None, None, None, Tensor | None, Tensor | None]:
        xb, y, lse_r, lse_c = ctx.saved_tensors  # type: ignore[attr-defined]
        cache: dict[tuple[int, int], tuple[Tensor, float]] = ctx.cache  # type: ignore[attr-defined]
        layout: TileLayout = ctx.layout  # type: ignore[attr-defined]
        tile: int = ctx.tile  # type: ignore[attr-defined]
        n_col: int = ctx.n_col  # type: ignore[attr-defined]
        shared: bool = ctx.shared  # type: ignore[attr-defined]
        fixed: bool = ctx.fixed  # type: ignore[attr-defined]
        yb = xb if shared else y
        if ctx.scratch is not None:  # type: ignore[attr-defined]
            buf, buf2 = ctx.scratch  # type: ignore[attr-defined]
        else:  # a second backward (retain_graph): the forward's scratch went back to its store
            buf = torch.empty(min(tile, xb.shape[0]), min(tile, yb.shape[0]), dtype=xb.dtype, device=xb.device)
            buf2 = torch.empty_like(buf)
        window = _shift_window(xb.dtype)
        cap = window + math.log2(max(tile, 1)) + 1.0
        lse_r, lse_c = lse_r * LOG2E, lse_c * LOG2E  # base 2, as the tiles
        soft = layout.soft is not None
        aligned = layout.aligned
        g_r, g_c = g_r.contiguous(), g_c.contiguous()
        dx = torch.zeros_like(xb)
        dy = None if shared else torch.zeros_like(yb)
        if fixed:
            # beta over every candidate column (0 beyond the b->a direction's n_col).
            alpha_all = _factor(lse_r, g_r, 0.0, cap)
            beta_all = torch.zeros(yb.shape[0], dtype=xb.dtype, device=xb.device)
            beta_all[:n_col] = _factor(lse_c, g_c, 0.0, cap)
        n_rows, n_cols = xb.shape[0], yb.shape[0]
        row_blocks, col_blocks = _blocks(n_rows, tile), _blocks(n_cols, tile)
        for bi, rows in enumerate(row_blocks):
            xbi = xb[rows]
            for bj, cols in enumerate(col_blocks):
                if shared and bj < bi:
                    continue
                ybj = yb[cols]
                kept = _take_kept(cache, (bi, bj))
                if kept is None:
                    s = buf[: rows.stop - rows.start, : cols.stop - cols.start]
                    torch.mm(xbi, ybj.T, out=s)
                    layout.exclude_(s, rows, cols)
                weight = None
                if soft:
                    weight, _ = layout.soft.tile(rows, cols, xb.dtype)  # type: ignore[union-attr]
                if shared and bj > bi:
                    col_lse, col_g = lse_r[cols], g_r[cols]
                elif not shared and cols.start < n_col:
                    stop = min(cols.stop, n_col)
                    col_lse, col_g = lse_c[cols.start:stop], g_c[cols.start:stop]
                else:
                    col_lse, col_g = None, None
                if fixed:  # c = 0 for every tile: the factors of the whole backward, sliced
                    e = s.exp2_() if kept is None else kept[0]
                    col_factor = (alpha_all if shared and bj > bi else
                                  beta_all if not shared and cols.start < n_col else None)
                    if col_factor is None:
                        h = e.mul_(alpha_all[rows].unsqueeze(1))
                    else:
                        both = torch.add(alpha_all[rows].unsqueeze(1), col_factor[cols].unsqueeze(0),
                                         out=buf2[: e.shape[0], : e.shape[1]])
                        h = e.mul_(both)
                elif kept is None:
                    h = _backward_tile(s, buf2, lse_r[rows], g_r[rows], col_lse, col_g, window, fixed, cap)
                else:
                    h = _cached_backward_tile(kept[0], kept[1], buf2, lse_r[rows], g_r[rows], col_lse, col_g, cap)
                if weight is not None:
                    h.addcmul_(weight, g_num[rows].unsqueeze(1))
                if aligned is not None:  # d num_i / d l_{i, i+k} = 1
                    for diag, lo, hi, start in _positive_segments(rows, cols, aligned, n_cols):
                        h.diagonal(diag)[start: start + hi - lo].add_(g_num[lo:hi])
                # Products with the base-2 inputs: the gradient that multiplies x (all of dX when
                # shared, dY otherwise) is rescaled once below.
                if shared and bi == bj:  # dX_I += (H + H^T) X_I: one GEMM, not two
                    sym = torch.add(h, h.T, out=buf2[: h.shape[0], : h.shape[1]])
                    dx[rows].addmm_(sym, xbi)
                elif shared:
                    dx[rows].addmm_(h, ybj)
                    dx[cols].addmm_(h.T, xbi)
                else:
                    dx[rows].addmm_(h, ybj)
                    dy[cols].addmm_(h.T, xbi)  # type: ignore[index]
                del kept, h
        if shared:
            dx.mul_(1.0 / math.sqrt(LOG2E))
        else:
            dy.mul_(LN2)  # type: ignore[union-attr]
        ctx.cache, ctx.scratch = {}, None  # type: ignore[attr-defined]
        if ctx.store is not None:  # type: ignore[attr-defined]
            ctx.store.release(ctx)  # type: ignore[attr-defined]
        return None, None, None, None, None, dx, dy


# ---------------------------------------------------------------------------------------- loss
def _row_dots(x: Tensor, y: Tensor) -> Tensor:
    """``<x_i, y_i>`` per row."""
    return (x * y).sum(1)


def _aligned_pairs_offset(rows: Tensor, cols: Tensor, n_rows: int, n_cols: int) -> int | None:
    """``k`` when the pairs ``(rows, cols)`` are exactly ``(i, (i + k) mod C)`` for ``i < n_rows``
    (one positive per anchor; ``n_rows = C`` unless ``k = 0``), else ``None``."""
    if rows.shape[0] != n_rows or n_rows == 0:
        return None
    index = torch.arange(n_rows, device=rows.device)
    if not torch.equal(rows, index):
        return None
    k = int(cols[0])
    if not torch.equal(cols, (index + k) % n_cols):
        return None
    if k == 0 and n_rows <= n_cols:
        return 0
    return k if n_rows == n_cols else None


def aligned_offset(positives: Positives, n_cols: int) -> int | None:
    """``k`` when anchor ``i``'s only positive is candidate ``(i + k) mod C`` (CLIP's pairs: ``k = 0``;
    two views stacked: ``k = B``), hard positives only; else ``None``."""
    if positives.soft is not None:
        return None
    n_rows = positives.num_anchors
    pairs = positive_pairs(positives, n_rows)
    return None if pairs is None else _aligned_pairs_offset(pairs[0], pairs[1], n_rows, n_cols)


def _aligned_dots(rows: Tensor, cols: Tensor, n_rows: int, x: Tensor, y: Tensor) -> Tensor | None:
    """``<x_i, y_{(i + k) mod C}>`` when anchor ``i``'s only positive is candidate ``i + k (mod C)``
    (``rows`` is ``0..n_rows-1``), from two slices instead of a gather or a roll (no ``(A, d)``
    copy either way); ``None`` for any other pattern. Two views scored against themselves
    (``y is x``, ``k = n / 2``) need half the dots: ``l_{i, i+k} = l_{i+k, i}``."""
    k = _aligned_pairs_offset(rows, cols, n_rows, y.shape[0])
    if k is None:
        return None
    if k == 0:
        return _row_dots(x, y[:n_rows])
    if y is x and 2 * k == n_rows:
        half = _row_dots(x[:k], x[k:])
        return torch.cat([half, half])
    return torch.cat([_row_dots(x[: n_rows - k], y[k:]), _row_dots(x[n_rows - k:], y[:k])])


def hard_numerator(positives: Positives, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """``(sum_{j in P(i)} <x_i, y_j>, |P(i)|)`` from ids, in ``O((A + C) d)`` memory, autograd-able."""
    n_rows = x.shape[0]
    pairs = positive_pairs(positives, SPARSE_PAIRS_PER_ROW * n_rows)
    if pairs is not None:
        rows, cols = pairs
        dots = _aligned_dots(rows, cols, n_rows, x, y)
        if dots is not None:  # one positive per anchor (CLIP's diagonal, two views' other view)
            return dots, torch.ones(n_rows, dtype=x.dtype, device=x.device)
        dots = (x[rows] * y[cols]).sum(1)
        num = torch.zeros(n_rows, dtype=x.dtype, device=x.device).index_add(0, rows, dots)
        total = torch.bincount(rows, minlength=n_rows).to(x.dtype)
        return num, total
    aid, cid = positives.anchor_ids, positives.candidate_ids
    k = int(max(int(aid.max()), int(cid.max())) + 1)
    real = cid >= 0
    sums = torch.zeros(k, y.shape[1], dtype=y.dtype, device=y.device).index_add(0, cid[real], y[real])
    counts = torch.bincount(cid[real], minlength=k).to(x.dtype)
    num = (x * sums[aid]).sum(1)
    total = counts[aid]
    if positives.anchor_self is not None:
        own = positives.anchor_self
        has = own >= 0
        own_c = own.clamp_min(0)
        same = has & (cid[own_c] == aid)
        num = num - torch.where(same, (x * y[own_c]).sum(1), torch.zeros_like(num))
        total = total - same.to(x.dtype)
    return num, total


PositiveScale = Callable[[Tensor, Tensor | float], Tensor | None]


def finish_rows(
    lse: Tensor, num: Tensor, total: Tensor, tau: Tensor | float,
    positive_scale: PositiveScale | None,
) -> tuple[Tensor, Tensor]:
    has_positive = total > 0
    pos_mean = num / total.clamp_min(torch.finfo(num.dtype).tiny)
    if positive_scale is not None:
        scale = positive_scale(pos_mean.detach(), tau)
        if scale is not None:
            pos_mean = pos_mean * scale
    empty = torch.isinf(lse) & (lse < 0) & has_positive
    if bool(empty.any()):
        raise ValueError(
            "negatives: some anchors have no candidate left in the denominator "
            f"(first anchor index {int(empty.nonzero()[0])}); the batch needs negatives"
        )
    loss = torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))
    return loss, has_positive


def _join_group(
    lse: Tensor, num: Tensor, total: Tensor, direction: Direction, x: Tensor, similarity: Similarity,
    exclude_positives: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Fold the direction's per-anchor candidates into ``(lse, num, total)``; ``x`` are the
    prepared anchors already divided by ``tau``. Logits ``g_ik = <x_i, prepare(c_ik)>``."""
    group = direction.group
    if group is None:
        return lse, num, total
    glog = similarity.pairwise(x.unsqueeze(1), similarity.prepare(group).to(x.dtype)).squeeze(1)
    n_cand = direction.positives.num_candidates
    den = glog
    if direction.group_positive is not None:
        pos = direction.group_positive
        picked = glog.gather(1, pos.unsqueeze(1)).squeeze(1)
        num, total = num + picked, total + 1
        if exclude_positives:
            hit = torch.arange(glog.shape[1], device=glog.device).unsqueeze(0) == pos.unsqueeze(1)
            den = den.masked_fill(hit, NEG_INF)
    q = direction.positives.denominator_tile(slice(0, glog.shape[0]), slice(n_cand, n_cand + glog.shape[1]),
                                             glog.dtype)
    if q is not None:
        den = den + q.log()
    some = (den != NEG_INF).any(1, keepdim=True)  # NaN counts as present (reported by the caller)
    # A row whose group is fully excluded adds nothing (and no NaN gradient from an all -inf lse).
    lse_group = torch.logsumexp(torch.where(some, den, torch.zeros_like(den)), 1)
    lse_group = torch.where(some.squeeze(1), lse_group, torch.full_like(lse_group, NEG_INF))
    return torch.logaddexp(lse, lse_group), num, total


# ``tile_size="auto"``: the tile edge, and the size of the logit matrix (anchors x shared candidates)
# from which the tiled kernel is used. Measured with benchmarks/losses.py (CPU, 1 thread, fwd+bwd;
# docs/benchmarks.md): tile 512 was faster than 1024 in every d = 128 case at B = 4096 and 8192 (a
# 1 MiB tile stays in L2 for the elementwise passes after its GEMM); the shared two-view kernel
# (half the GEMMs) wins from a smaller matrix than CLIP's. Crossover of the 2026-12-04 run (d = 128):
# two views tiled faster from the smallest case, B = 512 (a 1024² shared matrix: 0.013 vs 0.016 s);
# CLIP tied at B = 512 and 1024 (0.006-0.017 s either way) and tiled was faster from B = 2048.
AUTO_TILE_SIZE = 512
AUTO_MIN_ENTRIES_SHARED = 1024 * 1024
AUTO_MIN_ENTRIES = 2048 * 2048

# Default tile cache budget (MiB), counting what is live beside the kept tiles (2 scratch tiles,
# backward's (B, d) gradient accumulators): B = 8192, d = 128 CLIP keeps 246 of its 256 tiles of
# 512²; larger calls keep what fits and recompute the rest. See TiledLogSumExp and docs/scale.md
# ("Tile cache").
DEFAULT_TILE_CACHE_MB = 256.0


def auto_tile_size(direction: Direction) -> int | None:
    """The tile ``tile_size="auto"`` uses for ``direction``: :data:`AUTO_TILE_SIZE` when its
    ``(A, C)`` logit matrix over shared candidates has at least :data:`AUTO_MIN_ENTRIES_SHARED`
    (two views / single view without extra negatives) or :data:`AUTO_MIN_ENTRIES` entries, else
    ``None`` (dense: below that size the dense kernel is as fast or faster)."""
    entries = direction.anchors.shape[0] * direction.candidates.shape[0]
    threshold = AUTO_MIN_ENTRIES_SHARED if direction.shared else AUTO_MIN_ENTRIES
    return AUTO_TILE_SIZE if entries >= threshold else None


def prepared_inputs(
    direction: Direction, similarity: Similarity, tau: Tensor | float, power: float, symmetric: bool = False
) -> tuple[Tensor, Tensor | None]:
    """``(prepare(anchors) / tau^power, prepare(candidates))`` in the compute dtype; the candidates
    are ``None`` for the ``symmetric`` shared kernel (which scores the anchors against themselves).

    Raises:
        ValueError: a similarity other than cosine / dot."""
    if not isinstance(similarity, (Cosine, Dot)):
        raise ValueError(
            f"similarity: tiled execution supports 'cosine' and 'dot', got {similarity.name!r}"
        )
    dtype = compute_dtype(direction.anchors, direction.candidates)
    need = not symmetric
    if isinstance(similarity, Cosine) and direction.anchors.dtype == dtype and direction.candidates.dtype == dtype:
        # One fused pass each way instead of normalise-then-divide (same values and gradients).
        scale = (tau.to(dtype) ** -power) if isinstance(tau, Tensor) else tau**-power
        anchors = normalize_scaled(direction.anchors, scale, similarity.eps)
        candidates = normalize_scaled(direction.candidates, 1.0, similarity.eps) if need else None
        return anchors, candidates
    anchors = similarity.prepare(direction.anchors).to(dtype)
    candidates = None
    if need:
        candidates = anchors if direction.shared else similarity.prepare(direction.candidates).to(dtype)
    return _scaled(anchors, tau, power), candidates


def _cache_bytes(tile_cache_mb: float, *inputs: Tensor) -> int:
    """The tile cache budget in bytes, 0 when no backward can follow (nothing requires grad)."""
    check_non_negative_float(tile_cache_mb, "tile_cache_mb")  # also a value set after construction
    if not torch.is_grad_enabled() or not any(t.requires_grad for t in inputs):
        return 0
    return int(tile_cache_mb * 2**20)


def _scaled(x: Tensor, tau: Tensor | float, power: float) -> Tensor:
    if isinstance(tau, Tensor):
        return x / (tau.to(x.dtype) ** power)
    return x / (tau**power)


def tiled_direction_rows(
    direction: Direction,
    tau: Tensor | float,
    *,
    similarity: Similarity,
    tile_size: int,
    positives_in_denominator: bool = True,
    positive_scale: PositiveScale | None = None,
    tile_cache_mb: float = DEFAULT_TILE_CACHE_MB,
    tile_cache: TileCache | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-anchor InfoNCE / DCL losses of one direction, tiled; same values as the dense path.

    ``L_i = log sum_{j in D(i)} exp(l_ij) - w_i (sum_j p_ij l_ij) / (sum_j p_ij)``, ``l_ij =
    s(a_i, c_j) / tau`` (see the module docstring). ``positive_scale(pos_mean_logit, tau)`` gives
    DCLW's detached ``w``. ``tile_cache_mb``: budget (MiB) of exponentiated tiles kept from
    forward for backward (:class:`TiledLogSumExp`; 0 recomputes every tile); ``tile_cache``: a
    :class:`TileCache` whose buffer is reused across calls (``None``: a fresh one per call). Returns
    ``(loss, has_positive)``, both ``(A,)``.

    Raises:
        ValueError: ``tile_size`` not an integer ``>= 1``, ``tile_cache_mb < 0``, a similarity
            other than cosine / dot.
    """
    tile = check_tile_size(tile_size)
    assert isinstance(tile, int)
    positives = direction.positives
    # The shared kernel needs a symmetric tile rule: duplicates are, free denominator weights need not be.
    symmetric = direction.shared and positives.soft is None and positives.denominator is None
    layout = build_layout(positives, not positives_in_denominator, read_positives=not symmetric)
    x, candidates = prepared_inputs(direction, similarity, tau, 0.5 if symmetric else 1.0, symmetric)
    if symmetric:
        lse, _, _, _ = TiledLogSumExp.apply(layout, tile, 0, _cache_bytes(tile_cache_mb, x), tile_cache, x, None)
        num, total = hard_numerator(positives, x, x)
    else:
        assert candidates is not None
        lse, _, num, total = TiledLogSumExp.apply(layout, tile, 0, _cache_bytes(tile_cache_mb, x, candidates),
                                                  tile_cache, x, candidates)
        if positives.soft is None and layout.aligned is None:
            num, total = hard_numerator(positives, x, candidates)
        lse, num, total = _join_group(lse, num, total, direction, x, similarity, not positives_in_denominator)
    return finish_rows(lse, num, total, tau, positive_scale)


def tiled_symmetric_rows(
    forward: Direction,
    backward: Direction,
    tau: Tensor | float,
    *,
    similarity: Similarity,
    tile_size: int,
    positives_in_denominator: bool = True,
    positive_scale: PositiveScale | None = None,
    tile_cache_mb: float = DEFAULT_TILE_CACHE_MB,
    tile_cache: TileCache | None = None,
) -> list[tuple[Tensor, Tensor]]:
    """CLIP's two directions (a->b with optional extra negatives, b->a) from one tiled pass.

    The b->a logits are the transpose of the a->b ones (``l^{ba}_{ji} = l^{ab}_{ij}``), so every
    tile feeds the row statistics of a->b and the column statistics of b->a, and backward needs
    ``H = G^{ab} + (G^{ba})^T`` once. Falls back to two separate passes when soft weights are
    given (their exclusions need not be transposes of each other). ``tile_cache_mb``, ``tile_cache``: as in
    :func:`tiled_direction_rows` (one cache serves both directions).
    """
    tile = check_tile_size(tile_size)
    assert isinstance(tile, int)
    n = backward.anchors.shape[0]
    fusable = (forward.positives.soft is None and backward.positives.soft is None
               and forward.anchors.shape[0] == backward.candidates.shape[0]
               and forward.candidates.shape[0] >= n)
    if not fusable:
        return [
            tiled_direction_rows(d, tau, similarity=similarity, tile_size=tile,
                                 positives_in_denominator=positives_in_denominator,
                                 positive_scale=positive_scale, tile_cache_mb=tile_cache_mb,
                                 tile_cache=tile_cache)
            for d in (forward, backward)
        ]
    x, candidates = prepared_inputs(forward, similarity, tau, 1.0)
    assert candidates is not None
    layout = build_layout(forward.positives, not positives_in_denominator, read_positives=True)
    lse_ab, lse_ba, num_ab, tot_ab = TiledLogSumExp.apply(
        layout, tile, n, _cache_bytes(tile_cache_mb, x, candidates), tile_cache, x, candidates)
    if layout.aligned is None:
        num_ab, tot_ab = hard_numerator(forward.positives, x, candidates)
    if layout.aligned == 0 and aligned_offset(backward.positives, x.shape[0]) == 0:
        # Paired rows both ways: l^{ba}_{ii} = l^{ab}_{ii}, one numerator (and one gradient) for both.
        num_ba, tot_ba = num_ab[:n], tot_ab[:n]
    else:
        num_ba, tot_ba = hard_numerator(backward.positives,
                                        candidates if n == candidates.shape[0] else candidates[:n], x)
    lse_ab, num_ab, tot_ab = _join_group(lse_ab, num_ab, tot_ab, forward, x, similarity,
                                         not positives_in_denominator)
    return [
        finish_rows(lse_ab, num_ab, tot_ab, tau, positive_scale),
        finish_rows(lse_ba, num_ba, tot_ba, tau, positive_scale),
    ]


__all__ = [
    "AUTO_MIN_ENTRIES",
    "AUTO_MIN_ENTRIES_SHARED",
    "AUTO_TILE_SIZE",
    "DEFAULT_TILE_CACHE_MB",
    "SPARSE_PAIRS_PER_ROW",
    "TileCache",
    "TileLayout",
    "TiledLogSumExp",
    "aligned_offset",
    "auto_tile_size",
    "build_layout",
    "check_tile_size",
    "finish_rows",
    "hard_numerator",
    "positive_pairs",
    "prepared_inputs",
    "tiled_direction_rows",
    "tiled_symmetric_rows",
]
