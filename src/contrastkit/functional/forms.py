"""Loss forms: how scored pairs become a per-anchor loss.

All forms take a logits tile ``l_ij = s_ij / tau`` with its positive weights ``p_ij`` and validity
mask, and use ``torch.logsumexp`` (max-shifted) for every log-sum-exp.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.functional._autograd import first_order_only


def info_nce_rows(
    logits: Tensor,
    positive_weight: Tensor,
    valid: Tensor,
    *,
    positives_in_denominator: bool = True,
    denominator_mask: Tensor | None = None,
    positive_scale: Tensor | None = None,
    denominator_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Weighted multi-positive InfoNCE per anchor row.

    ``L_i = -w_i * (sum_j p_ij l_ij) / (sum_j p_ij) + log sum_{j in D(i)} exp(l_ij)``

    with ``D(i)`` every valid candidate (InfoNCE / NT-Xent / SupCon "L_out", Khosla et al. 2020),
    or every valid non-positive candidate when ``positives_in_denominator=False`` (DCL, Yeh et
    al. 2022). ``w_i`` is ``positive_scale`` (DCLW) or 1. ``denominator_mask`` restricts ``D(i)``
    further (explicit hard negatives, Wang & Liu 2021). ``denominator_weight`` ``q_ij >= 0``
    (constants) weighs the denominator: ``log sum_{j in D(i)} q_ij exp(l_ij)``; ``q = 0`` removes a pair.

    Returns:
        ``(loss, has_positive)``, both ``(A,)``; rows without positives get loss 0.
    """
    pos_total = positive_weight.sum(dim=1)
    has_positive = pos_total > 0
    denominator = valid if positives_in_denominator else valid & (positive_weight <= 0)
    if denominator_mask is not None:
        denominator = denominator & denominator_mask
    if not (positive_weight.requires_grad
            or (positive_scale is not None and positive_scale.requires_grad)):
        # Fused path (same values): autograd would keep ~8 extra (A, C) buffers alive or
        # allocate them afresh in backward (masked_fill, logsumexp's sub/exp/mul, the positive
        # product), and on CPU every fresh (A, C) buffer costs its page faults.
        loss = _InfoNCERows.apply(logits, positive_weight, denominator, pos_total, has_positive,
                                  positive_scale, log_weight(denominator_weight))
        return loss, has_positive
    pos_mean = (positive_weight * logits).sum(dim=1) / pos_total.clamp_min(torch.finfo(logits.dtype).tiny)
    if positive_scale is not None:
        pos_mean = pos_mean * positive_scale
    masked = logits.masked_fill(~denominator, float("-inf"))
    if denominator_weight is not None:
        masked = masked + log_weight(denominator_weight)
    lse = torch.logsumexp(masked, dim=1)
    _check_denominator(lse, has_positive)
    loss = torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))
    return loss, has_positive


def _backward_may_consume() -> bool:
    """Whether a backward may overwrite its saved ``(A, C)`` buffer: the graph is not retained
    (``retain_graph=True``, ``create_graph`` and ``gradcheck`` keep it, and then a fresh buffer is
    written). Without the query (a private autograd hook) it answers ``False``: always safe."""
    keep_graph = getattr(torch._C._autograd, "_get_current_graph_task_keep_graph", None)
    try:
        return keep_graph is not None and not keep_graph()
    except RuntimeError:  # not inside a backward pass
        return False


def _scaled_buffer(prob: Tensor, coef: Tensor) -> Tensor:
    """``prob * coef[:, None]``, in place where the graph is not retained (no fresh ``(A, C)``)."""
    return prob.mul_(coef.unsqueeze(1)) if _backward_may_consume() else prob * coef.unsqueeze(1)


def log_weight(q: Tensor | None) -> Tensor | None:
    """``log q`` of constant denominator weights (``-inf`` where ``q = 0``)."""
    return None if q is None else q.detach().log()


def _check_denominator(lse: Tensor, has_positive: Tensor) -> None:
    """An anchor with positives but an empty denominator (``lse = -inf``) is an input error."""
    empty = torch.isneginf(lse) & has_positive
    if empty.any():
        raise ValueError(
            "negatives: some anchors have no candidate left in the denominator "
            f"(first anchor index {int(empty.nonzero()[0])}); the batch needs negatives"
        )


class _InfoNCERows(torch.autograd.Function):
    """``info_nce_rows`` with a hand-written backward and one saved ``(A, C)`` buffer.

    Forward computes the row log-sum-exp exactly as ``torch.logsumexp`` does (max shift, infinite
    maxima shifted by 0), in place in the masked-logits buffer, which then holds the softmax
    ``q_ij``. Backward is ``dL_i/dl_ij = g_i (q_ij - w_i p_ij / sum_k p_ik)`` on rows with a
    positive (0 elsewhere), written into one fresh buffer. Positive weights and the positive scale
    carry no gradient here (the caller falls back to autograd when they require one).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        logits: Tensor,
        weight: Tensor,
        denominator: Tensor,
        pos_total: Tensor,
        has_positive: Tensor,
        scale: Tensor | None,
        log_q: Tensor | None = None,
    ) -> Tensor:
        pos_total = pos_total.clamp_min(torch.finfo(logits.dtype).tiny)
        prob = torch.mul(weight, logits)
        pos_mean = prob.sum(dim=1) / pos_total
        if scale is not None:
            pos_mean = pos_mean * scale
        # Reuse the product's buffer for the softmax: one fresh (A, C) allocation, not two.
        torch.where(denominator, logits, torch.tensor(float("-inf"), dtype=logits.dtype), out=prob)
        if log_q is not None:
            prob.add_(log_q)  # the softmax of l + log q is the gradient of log sum q exp(l)
        lse = _softmax_in_place(prob, dim=1)
        _check_denominator(lse, has_positive)
        ctx.save_for_backward(prob, weight, pos_total, has_positive, scale)
        return torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))

    @staticmethod
    @first_order_only
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        prob, weight, pos_total, has_positive, scale = ctx.saved_tensors
        coef = torch.where(has_positive, grad, torch.zeros_like(grad))
        pos_coef = coef / pos_total
        if scale is not None:
            pos_coef = pos_coef * scale
        grad_logits = _scaled_buffer(prob, coef)
        grad_logits.addcmul_(weight, pos_coef.unsqueeze(1), value=-1)
        return grad_logits, None, None, None, None, None, None


def lse_rows(logits: Tensor, mask: Tensor) -> Tensor:
    """Row-wise ``log sum_{j: mask_ij} exp(l_ij)``; ``-inf`` on empty rows."""
    return torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)


def info_nce_pair_rows(
    logits: Tensor,
    pos_rows: Tensor,
    pos_cols: Tensor,
    anchor_self: Tensor | None,
    *,
    positives_in_denominator: bool = True,
    positive_scale: Tensor | None = None,
    denominator_weight: Tensor | None = None,
    owned: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`info_nce_rows` for hard (0/1) positives given as sparse ``(row, col)`` pairs.

    Same value and gradient as the dense form with ``p_ij = 1`` on the pairs, but without the
    float ``(A, C)`` positive-weight and validity matrices: the numerator is a gather over the
    pairs, and the excluded entries (self, and the positives for DCL) are written as ``-inf``
    into the one softmax buffer. ``anchor_self[i] = -1`` marks an anchor without a self column.
    ``owned=True``: ``logits`` is a temporary nobody else reads (e.g. the output of the similarity
    GEMM), so its buffer becomes the softmax buffer instead of a copy (it is overwritten).
    """
    n_rows = logits.shape[0]
    counts = torch.bincount(pos_rows, minlength=n_rows).to(logits.dtype)
    has_positive = counts > 0
    if anchor_self is None:
        self_rows = self_cols = pos_rows[:0]
    else:
        keep = anchor_self >= 0
        self_rows = torch.arange(n_rows, device=logits.device)[keep]
        self_cols = anchor_self[keep]
    if not positives_in_denominator:
        self_rows, self_cols = torch.cat([self_rows, pos_rows]), torch.cat([self_cols, pos_cols])
    loss = _PairRows.apply(logits, pos_rows, pos_cols, counts, has_positive, self_rows, self_cols,
                           positive_scale, log_weight(denominator_weight), owned)
    return loss, has_positive


class _PairRows(torch.autograd.Function):
    """Forward/backward of :func:`info_nce_pair_rows` with one saved ``(A, C)`` buffer.

    ``dL_i/dl_ij = g_i (q_ij - w_i [j in P(i)] / |P(i)|)`` with ``q`` the softmax over the
    denominator set, written into a fresh buffer and corrected on the positive pairs only.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        logits: Tensor,
        pos_rows: Tensor,
        pos_cols: Tensor,
        counts: Tensor,
        has_positive: Tensor,
        excluded_rows: Tensor,
        excluded_cols: Tensor,
        scale: Tensor | None,
        log_q: Tensor | None = None,
        owned: bool = False,
    ) -> Tensor:
        safe_counts = counts.clamp_min(1)
        pos_mean = torch.zeros_like(counts).index_add_(0, pos_rows, logits[pos_rows, pos_cols]) / safe_counts
        if scale is not None:
            pos_mean = pos_mean * scale
        prob = logits if owned else logits.clone()  # owned: the positives were read above
        prob[excluded_rows, excluded_cols] = float("-inf")
        if log_q is not None:
            prob.add_(log_q)
        lse = _softmax_in_place(prob, dim=1)
        _check_denominator(lse, has_positive)
        ctx.save_for_backward(prob, pos_rows, pos_cols, safe_counts, has_positive, scale)
        return torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))

    @staticmethod
    @first_order_only
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        prob, pos_rows, pos_cols, counts, has_positive, scale = ctx.saved_tensors
        coef = torch.where(has_positive, grad, torch.zeros_like(grad))
        pos_coef = coef / counts
        if scale is not None:
            pos_coef = pos_coef * scale
        grad_logits = _scaled_buffer(prob, coef)
        grad_logits.index_put_((pos_rows, pos_cols), -pos_coef[pos_rows], accumulate=True)
        return grad_logits, None, None, None, None, None, None, None, None, None


def info_nce_lse_rows(
    logits: Tensor,
    excluded_rows: Tensor,
    excluded_cols: Tensor,
    *,
    denominator_weight: Tensor | None = None,
    owned: bool = False,
) -> Tensor:
    """Row log-sum-exp ``log sum_{j in D(i)} q_ij exp(l_ij)`` over ``(A, C)`` logits, with the
    ``(row, col)`` pairs given excluded from ``D(i)``; ``-inf`` on an empty row.

    The denominator half of InfoNCE for callers that form the positive term outside (e.g. from
    per-class sums of the ``(B, d)`` inputs, :func:`contrastkit.functional.tiled.hard_numerator`).
    One ``(A, C)`` buffer: the logits' own when ``owned`` (see :func:`info_nce_pair_rows`).
    """
    return _LseRows.apply(logits, excluded_rows, excluded_cols, log_weight(denominator_weight), owned)


class _LseRows(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        logits: Tensor,
        excluded_rows: Tensor,
        excluded_cols: Tensor,
        log_q: Tensor | None,
        owned: bool,
    ) -> Tensor:
        prob = logits if owned else logits.clone()
        prob[excluded_rows, excluded_cols] = float("-inf")
        if log_q is not None:
            prob.add_(log_q)
        lse = _softmax_in_place(prob, dim=1)
        ctx.save_for_backward(prob)
        return lse

    @staticmethod
    @first_order_only
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        (prob,) = ctx.saved_tensors
        # d lse_i / d l_ij is the softmax; empty rows (lse = -inf) have a zero softmax row.
        return _scaled_buffer(prob, grad.nan_to_num(posinf=0.0, neginf=0.0)), None, None, None, None


def info_nce_paired_symmetric_rows(
    logits: Tensor,
    *,
    positives_in_denominator: bool = True,
    row_scale: Tensor | None = None,
    col_scale: Tensor | None = None,
    owned: bool = False,
) -> tuple[Tensor, Tensor]:
    """Both directions of CLIP's loss from one ``(N, N + M)`` logit matrix, without a transpose.

    Row ``i`` (a->b) runs over all ``N + M`` candidates, column ``j < N`` (b->a) over the ``N``
    rows; the positive of both is the diagonal. Equals :func:`info_nce_rows` on the logits and
    on their transpose; DCL (``positives_in_denominator=False``) drops the diagonal from both
    denominators. Returns the a->b and b->a per-anchor losses, each ``(N,)``. ``owned``: as in
    :func:`info_nce_pair_rows` (the logits buffer becomes the row-softmax buffer).
    """
    return _PairedSymmetricRows.apply(logits, positives_in_denominator, row_scale, col_scale, owned)


# One shift for the whole matrix when every row and column maximum is within this many nats of
# the global maximum: each row and column sum of exp(l - c) is then >= e^-40, and the entries that
# underflow (l < c - 40 - 87 in float32) weigh below e^-87 of their row's or column's maximum.
_SHARED_SHIFT_WINDOW = {torch.float32: 40.0, torch.float64: 600.0}
_LOG2E = 1.4426950408889634


class _PairedSymmetricRows(torch.autograd.Function):
    """Both directions of CLIP from one matrix. Fast path: ``E = exp(l - c)`` with one shift ``c``
    (the global maximum) gives both the row and the column sums, backward forms the gradient
    ``E * (g_i / r_i + h_j / k_j)`` in that one buffer (``exp`` computed as ``exp2`` of
    ``(l - c) log2(e)``, several times cheaper on CPU); where some row or column maximum lies
    more than the window below ``c`` it falls back to one max-shifted softmax per direction."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        logits: Tensor,
        positives_in_denominator: bool,
        row_scale: Tensor | None,
        col_scale: Tensor | None,
        owned: bool = False,
    ) -> tuple[Tensor, Tensor]:
        n = logits.shape[0]
        diag = logits.diagonal()[:n].clone()
        work = logits if owned else logits.clone()
        if not positives_in_denominator:
            work.diagonal().fill_(float("-inf"))
        all_rows = torch.ones(n, dtype=torch.bool, device=logits.device)
        shift = _shared_shift(work, n)
        if shift is not None:
            e = work.sub_(shift).mul_(_LOG2E).exp2_()
            row_sum = e.sum(dim=1)
            col_sum = torch.mv(e[:, :n].T, torch.ones(n, dtype=e.dtype, device=e.device))
            row_lse, col_lse = row_sum.log().add_(shift), col_sum.log().add_(shift)
            ctx.shared = True
            ctx.save_for_backward(e, row_sum, col_sum, row_scale, col_scale)
        else:
            col_prob = work[:, :n].clone()
            row_lse = _softmax_in_place(work, dim=1)
            col_lse = _softmax_in_place(col_prob, dim=0)
            ctx.shared = False
            ctx.save_for_backward(work, col_prob, row_scale, col_scale)
        _check_denominator(row_lse, all_rows)
        _check_denominator(col_lse, all_rows)
        row_pos = diag if row_scale is None else diag * row_scale
        col_pos = diag if col_scale is None else diag * col_scale
        return row_lse - row_pos, col_lse - col_pos

    @staticmethod
    @first_order_only
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_row: Tensor, grad_col: Tensor
    ) -> tuple[Tensor | None, ...]:
        if ctx.shared:  # type: ignore[attr-defined]
            e, row_sum, col_sum, row_scale, col_scale = ctx.saved_tensors  # type: ignore[attr-defined]
            n = col_sum.shape[0]
            alpha = grad_row / row_sum
            beta = torch.zeros(e.shape[1], dtype=e.dtype, device=e.device)
            beta[:n] = grad_col / col_sum
            grad = e if _backward_may_consume() else e.clone()
            # grad *= alpha_i + beta_j, through a row block of about 1 MiB: a fresh (N, N + M)
            # factor matrix would cost its page faults on CPU.
            rows = max(1, (1 << 18) // max(e.shape[1], 1))
            both = torch.empty(min(rows, e.shape[0]), e.shape[1], dtype=e.dtype, device=e.device)
            for start in range(0, e.shape[0], rows):
                stop = min(start + rows, e.shape[0])
                block = torch.add(alpha[start:stop].unsqueeze(1), beta.unsqueeze(0), out=both[: stop - start])
                grad[start:stop].mul_(block)
        else:
            row_prob, col_prob, row_scale, col_scale = ctx.saved_tensors  # type: ignore[attr-defined]
            n = col_prob.shape[0]
            grad = _scaled_buffer(row_prob, grad_row)
            grad[:, :n].addcmul_(col_prob, grad_col.unsqueeze(0))
        row_pos = grad_row if row_scale is None else grad_row * row_scale
        col_pos = grad_col if col_scale is None else grad_col * col_scale
        grad.diagonal()[:n].sub_(row_pos + col_pos)
        return grad, None, None, None, None


def _shared_shift(x: Tensor, n: int) -> float | None:
    """The global maximum of ``x`` when every row maximum and every maximum of the first ``n``
    columns lies within the dtype's window below it (and is finite), else ``None``."""
    window = _SHARED_SHIFT_WINDOW.get(x.dtype)
    if window is None or x.numel() == 0:
        return None
    row_max = x.amax(dim=1)
    col_max = x[:, :n].amax(dim=0)
    lo = torch.minimum(row_max.min(), col_max.min())
    hi = row_max.max()
    if not bool(torch.isfinite(lo) & torch.isfinite(hi)) or float(hi - lo) > window:
        return None
    return float(hi)


def _softmax_in_place(x: Tensor, dim: int) -> Tensor:
    """Overwrite ``x`` with its softmax along ``dim`` (max-shifted, as ``torch.logsumexp``: an
    infinite maximum is shifted by 0); return the log-sum-exp. A row whose entries are all
    ``-inf`` sums to 0: its log-sum-exp is ``-inf`` and the clamp keeps its softmax at 0."""
    peak = x.amax(dim=dim, keepdim=True)
    peak = peak.masked_fill(peak.abs() == float("inf"), 0)
    x.sub_(peak).exp_()
    total = x.sum(dim=dim, keepdim=True)
    lse = total.log().add_(peak)
    x.div_(total.clamp_min(torch.finfo(x.dtype).tiny))
    return lse.squeeze(dim)
