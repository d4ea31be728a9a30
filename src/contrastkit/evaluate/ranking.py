"""Full-ranking next-item metrics: HR@k, NDCG@k and MRR with a single target per user.

Every user's target is ranked against **all** items (RecBole's ``mode: full``; no sampled negatives,
which Krichene & Rendle, KDD 2020, "On Sampled Metrics for Item Recommendation", show to be inconsistent).
With ``rank`` the 1-based position of the target:

- ``HR@k`` = mean over users of ``[rank <= k]`` (equal to Recall@k with one target);
- ``NDCG@k`` = mean of ``[rank <= k] / log2(rank + 1)`` (IDCG = 1 for one relevant item; Jarvelin &
  Kekalainen, TOIS 2002);
- ``MRR`` = mean of ``1 / rank`` over the whole list (not truncated).

Ties count against the target: ``rank = 1 + #{j : s_j > s_t} + #{j != t : s_j = s_t}``, so a constant or
collapsed scorer gets the worst rank instead of a lucky one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from contrastkit.evaluate._common import as_tensor, check_positive_int


def _check_scores(scores: object) -> Tensor:
    scores = as_tensor(scores, "scores")
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores: expected a tensor or numpy array, got {type(scores).__name__}")
    if not scores.dtype.is_floating_point:
        raise TypeError(f"scores: expected a floating (users, items) matrix, got {scores.dtype}")
    if scores.dim() != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"scores: expected a non-empty (users, items) matrix, got shape {tuple(scores.shape)}")
    if torch.isnan(scores).any():
        raise ValueError("scores: contains NaN values")
    return scores


def _check_target(target: object, n_users: int, n_items: int) -> Tensor:
    target = as_tensor(target, "target")
    if not isinstance(target, Tensor):
        raise TypeError(f"target: expected a tensor or numpy array of item indices, got {type(target).__name__}")
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise TypeError(f"target: expected integer item indices, got {target.dtype}")
    if target.dim() != 1 or target.shape[0] != n_users:
        raise ValueError(f"target: expected shape ({n_users},) (one item per user), got {tuple(target.shape)}")
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= n_items:
        raise ValueError(f"target: item indices must lie in [0, {n_items}) (the columns of scores), "
                         f"got range [{lo}, {hi}]")
    return target.long()


def _check_exclude(exclude: object, shape: tuple[int, int]) -> Tensor:
    exclude = as_tensor(exclude, "exclude")
    if not isinstance(exclude, Tensor) or exclude.dtype != torch.bool:
        kind = exclude.dtype if isinstance(exclude, Tensor) else type(exclude).__name__
        raise TypeError(f"exclude: expected a bool (users, items) mask, got {kind}")
    if tuple(exclude.shape) != shape:
        raise ValueError(f"exclude: expected shape {shape} (as scores), got {tuple(exclude.shape)}")
    return exclude


@torch.no_grad()
def target_ranks(scores: object, target: object, exclude: object | None = None, *,
                 chunk_size: int = 4096) -> Tensor:
    """1-based rank of each user's target among all non-excluded items, ties counted against it.

    Args:
        scores: ``(U, I)`` float scores (higher = better); ``-inf`` allowed, NaN rejected.
        target: ``(U,)`` integer column index of each user's target item.
        exclude: optional ``(U, I)`` bool mask of items left out of the ranking (e.g. already seen);
            a user's own target must not be excluded.
        chunk_size: users per block (memory O(chunk_size x I)).

    Returns:
        ``(U,)`` int64 ranks in ``[1, I]``.
    """
    scores = _check_scores(scores)
    n_users, n_items = scores.shape
    target = _check_target(target, n_users, n_items).to(scores.device)
    if exclude is not None:
        exclude = _check_exclude(exclude, (n_users, n_items)).to(scores.device)
        hit = exclude.gather(1, target[:, None]).squeeze(1)
        if bool(hit.any()):
            first = int(hit.nonzero()[0, 0])
            raise ValueError(f"exclude: masks the target item of {int(hit.sum())} users (first: user {first}, "
                             f"item {int(target[first])}); the target cannot be excluded from its own ranking")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    ranks = torch.empty(n_users, dtype=torch.long, device=scores.device)
    for start in range(0, n_users, chunk_size):
        block = scores[start:start + chunk_size]
        t = target[start:start + chunk_size]
        s_t = block.gather(1, t[:, None])
        ahead = block >= s_t                      # the target itself is counted here once
        if exclude is not None:
            ahead &= ~exclude[start:start + chunk_size]
        ranks[start:start + chunk_size] = ahead.sum(dim=1)
    return ranks


@torch.no_grad()
def ranking_metrics(scores: object, target: object, k: Sequence[int] | int = (5, 10, 20),
                    exclude: object | None = None, *, chunk_size: int = 4096) -> dict[str, float]:
    """HR@k, NDCG@k for every cut-off in ``k``, and MRR, averaged over users (see the module doc).

    Args:
        scores: ``(U, I)`` float scores of every user for every item.
        target: ``(U,)`` the column of each user's held-out item.
        k: cut-offs, each in ``[1, I]``.
        exclude: optional ``(U, I)`` bool mask of items not ranked (already seen items); the target must
            not be masked.

    Returns:
        ``{"HR@5": ..., "NDCG@5": ..., "HR@10": ..., ..., "MRR": ...}`` (python floats).
    """
    scores = _check_scores(scores)
    n_items = scores.shape[1]
    ks = (k,) if isinstance(k, int) and not isinstance(k, bool) else k
    if isinstance(ks, str) or not isinstance(ks, Sequence) or len(ks) == 0:
        raise ValueError(f"k: expected a positive integer or a non-empty sequence of them, got {k!r}")
    ks = tuple(check_positive_int(v, "k") for v in ks)
    if max(ks) > n_items:
        raise ValueError(f"k: cut-off {max(ks)} is larger than the number of items ({n_items})")
    ranks = target_ranks(scores, target, exclude, chunk_size=chunk_size).to(torch.float64)
    out: dict[str, float] = {}
    for cut in ks:
        inside = ranks <= cut
        out[f"HR@{cut}"] = float(inside.double().mean())
        out[f"NDCG@{cut}"] = float(torch.where(inside, 1.0 / torch.log2(ranks + 1.0), 0.0).mean())
    out["MRR"] = float((1.0 / ranks).mean())
    return out


__all__ = ["ranking_metrics", "target_ranks"]
