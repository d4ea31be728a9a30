"""DebCSE's pair construction: positives among semantic neighbours and negatives among semantically distant
sentences, each drawn by inverse-propensity weighting of a surface feature (the length difference), so the
sampled pairs do not teach that equal length means equal meaning (Miao, Du & Zhang, CIKM 2023, §3;
reconstructed: no official code is published).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.mining import inverse_propensity_probabilities, sample_candidates, surface_bins


@dataclass
class PairSampler:
    """Per-anchor positive / negative candidate rows and their sampling probabilities.

    ``pos_index`` ``(n, M)`` and ``pos_prob`` ``(n, M)``: the ``M`` nearest neighbours under the frozen
    teacher and their probabilities (rows without a neighbour above ``theta_pos`` are all zero: such an
    anchor's positive is its own second dropout view, as in SimCSE). ``neg_prob`` ``(n, n)``: probabilities
    over the whole pool (sentences below ``theta_neg``). ``pos_bins`` / ``n_bins``: the surface bins of the
    positive candidates (for the histogram check).
    """

    pos_index: Tensor
    pos_prob: Tensor
    pos_bins: Tensor
    neg_prob: Tensor
    n_bins: int

    def __call__(self, idx: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(positive rows, negative rows)`` ``(B,)`` for anchors ``idx`` ``(B,)``."""
        p = self.pos_prob[idx]
        has = p.sum(dim=1) > 0
        pos = idx.clone()
        if bool(has.any()):
            pick = sample_candidates(p[has], gen)
            pos[has] = self.pos_index[idx[has]].gather(1, pick[:, None]).squeeze(1)
        return pos, sample_candidates(self.neg_prob[idx], gen)

    def positive_bin_histogram(self) -> Tensor:
        """Expected share of sampled positives per surface bin ``(n_bins,)`` (anchors with a positive)."""
        hist = torch.zeros(self.n_bins, dtype=torch.float64)
        hist.scatter_add_(0, self.pos_bins.flatten(), self.pos_prob.flatten())
        return hist / hist.sum().clamp(min=1e-300)


def entropy(p: Tensor) -> float:
    """Shannon entropy (nats) of a probability vector; the flatter, the larger (max ``log len(p)``)."""
    q = p[p > 0].double()
    return float(-(q * q.log()).sum())


def build_sampler(teacher: Tensor, lengths: Tensor, *, neighbours: int, theta_pos: float, theta_neg: float,
                  edges: list[float], ipw: bool) -> PairSampler:
    """Candidates and probabilities from teacher embeddings ``(n, d)`` (any scale; cosine is used) and
    sentence lengths ``(n,)`` in words. ``ipw=False`` samples the valid candidates uniformly (the
    neighbour-positive baseline without debiasing). Raises ``ValueError`` when no sentence is below
    ``theta_neg`` for some anchor."""
    u = torch.nn.functional.normalize(teacher.double(), dim=1)
    sem = u @ u.T
    n = sem.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    sem_no_self = sem.masked_fill(eye, -math.inf)
    values, pos_index = sem_no_self.topk(neighbours, dim=1)
    diff = (lengths.double()[:, None] - lengths.double()[None, :]).abs()
    n_bins = len(edges) + 1
    pos_bins = surface_bins(diff.gather(1, pos_index), edges)
    pos_mask = values >= theta_pos
    neg_mask = (sem < theta_neg) & ~eye
    if not bool(neg_mask.any(dim=1).all()):
        raise ValueError(f"theta_neg: some anchor has no sentence below {theta_neg} in the pool")
    neg_bins = surface_bins(diff, edges)
    if ipw:
        pos_prob = inverse_propensity_probabilities(pos_bins, pos_mask, n_bins=n_bins)
        neg_prob = inverse_propensity_probabilities(neg_bins, neg_mask, n_bins=n_bins)
    else:
        pos_prob = pos_mask.double() / pos_mask.sum(1, keepdim=True).clamp(min=1)
        neg_prob = neg_mask.double() / neg_mask.sum(1, keepdim=True)
    return PairSampler(pos_index, pos_prob, pos_bins, neg_prob, n_bins)


__all__ = ["PairSampler", "build_sampler", "entropy"]
