"""Loss forms: how scored pairs become a per-anchor loss.

All forms take a logits tile ``l_ij = s_ij / tau`` with its positive weights ``p_ij`` and validity
mask, and use ``torch.logsumexp`` (max-shifted) for every log-sum-exp.
"""

from __future__ import annotations

import torch
from torch import Tensor


def info_nce_rows(
    logits: Tensor,
    positive_weight: Tensor,
    valid: Tensor,
    *,
    positives_in_denominator: bool = True,
    denominator_mask: Tensor | None = None,
    positive_scale: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Weighted multi-positive InfoNCE per anchor row.

    ``L_i = -w_i * (sum_j p_ij l_ij) / (sum_j p_ij) + log sum_{j in D(i)} exp(l_ij)``

    with ``D(i)`` every valid candidate (InfoNCE / NT-Xent / SupCon "L_out", Khosla et al. 2020),
    or every valid non-positive candidate when ``positives_in_denominator=False`` (DCL, Yeh et
    al. 2022). ``w_i`` is ``positive_scale`` (DCLW) or 1. ``denominator_mask`` restricts ``D(i)``
    further (explicit hard negatives, Wang & Liu 2021).

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
                                  positive_scale)
        return loss, has_positive
    pos_mean = (positive_weight * logits).sum(dim=1) / pos_total.clamp_min(torch.finfo(logits.dtype).tiny)
    if positive_scale is not None:
        pos_mean = pos_mean * positive_scale
    lse = torch.logsumexp(logits.masked_fill(~denominator, float("-inf")), dim=1)
    _check_denominator(lse, has_positive)
    loss = torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))
    return loss, has_positive


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
    ) -> Tensor:
        pos_total = pos_total.clamp_min(torch.finfo(logits.dtype).tiny)
        prob = torch.mul(weight, logits)
        pos_mean = prob.sum(dim=1) / pos_total
        if scale is not None:
            pos_mean = pos_mean * scale
        # Reuse the product's buffer for the softmax: one fresh (A, C) allocation, not two.
        torch.where(denominator, logits, torch.tensor(float("-inf"), dtype=logits.dtype), out=prob)
        row_max = prob.amax(dim=1)
        row_max = row_max.masked_fill(row_max.abs() == float("inf"), 0)
        prob.sub_(row_max.unsqueeze(1)).exp_()
        row_sum = prob.sum(dim=1)
        lse = row_sum.log().add_(row_max)
        _check_denominator(lse, has_positive)
        # Rows with an empty denominator sum to 0; the clamp keeps their (unused) softmax at 0.
        prob.div_(row_sum.clamp_min(torch.finfo(logits.dtype).tiny).unsqueeze(1))
        ctx.save_for_backward(prob, weight, pos_total, has_positive, scale)
        return torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:
        prob, weight, pos_total, has_positive, scale = ctx.saved_tensors
        coef = torch.where(has_positive, grad, torch.zeros_like(grad))
        pos_coef = coef / pos_total
        if scale is not None:
            pos_coef = pos_coef * scale
        grad_logits = prob * coef.unsqueeze(1)
        grad_logits.addcmul_(weight, pos_coef.unsqueeze(1), value=-1)
        return grad_logits, None, None, None, None, None


def lse_rows(logits: Tensor, mask: Tensor) -> Tensor:
    """Row-wise ``log sum_{j: mask_ij} exp(l_ij)``; ``-inf`` on empty rows."""
    return torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)
