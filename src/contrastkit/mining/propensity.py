"""Inverse-propensity-weighted pair sampling (DebCSE: Miao, Du & Zhang, CIKM 2023, "DebCSE: Rethinking
Unsupervised Contrastive Sentence Embedding Learning in the Debiasing Perspective", arXiv:2309.07396).

Candidate pairs ``(i, k)`` (e.g. an anchor's nearest neighbours under a frozen semantic encoder) carry a
*surface* feature (here: the absolute length difference); its histogram over all candidates is the
propensity ``e(b) = P(surface in bin b)``. Sampling candidate ``k`` of anchor ``i`` with probability
``pi_ik ∝ 1 / e(bin(i, k))`` flattens the surface distribution of the sampled pairs, so the training pairs no
longer teach that (e.g.) equal length means equal meaning.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit._validation import check_positive_int


def _check_matrix(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"{name}: expected an (N, K) tensor, got {getattr(x, 'shape', type(x).__name__)!r}")
    return x


def surface_bins(surface: Tensor, edges: Tensor | list[float]) -> Tensor:
    """Bin index of each surface value: ``b = #{edges <= value}`` in ``[0, len(edges)]`` (``torch.bucketize``,
    right-closed); ``edges`` must be increasing. Returns an int64 tensor shaped like ``surface``."""
    e = torch.as_tensor(edges, dtype=torch.float64)
    if e.dim() != 1 or e.numel() == 0 or not bool((e[1:] > e[:-1]).all()):
        raise ValueError(f"edges: expected a non-empty increasing 1-D sequence, got {edges!r}")
    return torch.bucketize(surface.double(), e, right=True)


def inverse_propensity_probabilities(bins: Tensor, mask: Tensor, *, n_bins: int) -> Tensor:
    """Per-anchor sampling probabilities ``pi_ik ∝ 1 / e(b_ik)`` over the valid candidates.

    Args:
        bins: ``(N, K)`` int64 surface bin of candidate ``k`` of anchor ``i`` (``0 <= b < n_bins``).
        mask: ``(N, K)`` bool, the valid candidates (e.g. semantic similarity above the positive threshold).
        n_bins: number of bins.

    Returns:
        ``(N, K)`` float64, rows summing to 1 over valid candidates (0 elsewhere); a row without a valid
        candidate is all zero. The propensity ``e(b)`` is the fraction of all valid candidates in bin ``b``.

    Raises:
        ValueError: shapes differ, bins out of range, ``mask`` not boolean.
    """
    bins, mask = _check_matrix(bins, "bins"), _check_matrix(mask, "mask")
    check_positive_int(n_bins, "n_bins")
    if bins.shape != mask.shape:
        raise ValueError(f"mask: expected shape {tuple(bins.shape)} (that of bins), got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor, got {mask.dtype}")
    if bins.dtype.is_floating_point or (bins.numel() and (int(bins.min()) < 0 or int(bins.max()) >= n_bins)):
        raise ValueError(f"bins: expected integer bins in [0, {n_bins})")
    counts = torch.bincount(bins[mask].long(), minlength=n_bins).double()
    propensity = counts / counts.sum().clamp(min=1.0)
    # a valid candidate's bin has count >= 1, so its propensity is > 0
    inverse = torch.where(mask, 1.0 / propensity.clamp(min=1e-300)[bins.long()], torch.zeros((), dtype=torch.float64))
    total = inverse.sum(dim=1, keepdim=True)
    return torch.where(total > 0, inverse / total.clamp(min=1e-300), torch.zeros_like(inverse))


def sample_candidates(probabilities: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One candidate index per anchor drawn from ``probabilities`` ``(N, K)`` (rows summing to 1); ``(N,)``
    int64. Raises ``ValueError`` on a row without probability mass."""
    p = _check_matrix(probabilities, "probabilities")
    if bool((p.sum(dim=1) <= 0).any()):
        raise ValueError("probabilities: some anchor has no candidate with positive probability")
    return torch.multinomial(p.float(), 1, generator=generator).squeeze(1)


__all__ = ["inverse_propensity_probabilities", "sample_candidates", "surface_bins"]
