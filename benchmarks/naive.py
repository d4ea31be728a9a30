"""Naive dense reference losses and the three-GEMM floor.

These are the textbook implementations every exact contrastive loss is compared against:
materialise the full similarity matrix, mask the diagonal, and call ``cross_entropy``. They do no
tiling and no memory tricks, so they define the "naive dense" column of the benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def naive_ntxent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """SimCLR NT-Xent on two views (Chen et al. 2020).

    ``z = normalize(cat[z1, z2])``, ``logits = z z^T / tau`` with the diagonal set to ``-inf``, and
    cross-entropy with target ``(i + N) mod 2N``.
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, target)


def naive_clip(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """CLIP's symmetric loss (Radford et al. 2021): mean of the two cross-entropies of
    ``normalize(a) normalize(b)^T / tau`` and its transpose, target the diagonal."""
    a = F.normalize(a, dim=1)
    b = F.normalize(b, dim=1)
    logits = a @ b.T / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def gemm_floor(x: Tensor, y: Tensor, grad: Tensor) -> Tensor:
    """The three matrix products any exact loss over all pairs must do.

    Forward ``S = x y^T`` (R x C), backward ``dX = G y`` and ``dY = G^T x`` for an upstream ``G`` of
    the same shape as ``S``. ``grad`` is a preallocated, already-touched ``(R, C)`` buffer so the
    floor counts arithmetic only, not page faults. Returns the sum of the outputs' first elements
    so that no product can be skipped.
    """
    s = x @ y.T
    dx = grad @ y
    dy = grad.T @ x
    return s[0, 0] + dx[0, 0] + dy[0, 0]
