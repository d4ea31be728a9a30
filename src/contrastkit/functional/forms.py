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
    pos_mean = (positive_weight * logits).sum(dim=1) / pos_total.clamp_min(torch.finfo(logits.dtype).tiny)
    if positive_scale is not None:
        pos_mean = pos_mean * positive_scale
    denominator = valid if positives_in_denominator else valid & (positive_weight <= 0)
    if denominator_mask is not None:
        denominator = denominator & denominator_mask
    lse = torch.logsumexp(logits.masked_fill(~denominator, float("-inf")), dim=1)
    empty = ~denominator.any(dim=1) & has_positive
    if empty.any():
        raise ValueError(
            "negatives: some anchors have no candidate left in the denominator "
            f"(first anchor index {int(empty.nonzero()[0])}); the batch needs negatives"
        )
    loss = torch.where(has_positive, lse - pos_mean, torch.zeros_like(lse))
    return loss, has_positive


def lse_rows(logits: Tensor, mask: Tensor) -> Tensor:
    """Row-wise ``log sum_{j: mask_ij} exp(l_ij)``; ``-inf`` on empty rows."""
    return torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)
