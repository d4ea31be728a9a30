"""Hard-negative selection (Wang & Liu, CVPR 2021; used by MEOW, RankGen-style mining, ...)."""

from __future__ import annotations

import torch
from torch import Tensor


def hardest_negatives_mask(
    scores: Tensor, negative: Tensor, *, top_k: int | None = None, fraction: float | None = None
) -> Tensor:
    """Keep, per anchor row, the ``top_k`` highest-scoring negatives (or the top ``fraction``
    of that row's negatives, at least one). Returns a bool mask of the kept negatives."""
    if (top_k is None) == (fraction is None):
        raise ValueError("top_k, fraction: give exactly one of them")
    masked = scores.detach().masked_fill(~negative, float("-inf"))
    counts = negative.sum(dim=1)
    if top_k is not None:
        k_row = counts.clamp(max=top_k)
    else:
        k_row = torch.ceil(counts.to(torch.float64) * fraction).long().clamp(min=1)
        k_row = torch.minimum(k_row, counts)
    k_max = int(k_row.max()) if counts.numel() else 0
    if k_max == 0:
        return torch.zeros_like(negative)
    top = masked.topk(min(k_max, scores.shape[1]), dim=1).indices
    keep = torch.arange(top.shape[1], device=scores.device).unsqueeze(0) < k_row.unsqueeze(1)
    mask = torch.zeros_like(negative)
    mask.scatter_(1, top, keep)
    return mask & negative


__all__ = ["hardest_negatives_mask"]
