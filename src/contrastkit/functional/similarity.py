"""Pairwise similarities between anchors and candidates.

A similarity has two steps so that tiled and distributed code can split the work:
``prepare`` is applied once per row (e.g. L2 normalisation) and ``pairwise`` maps prepared
row blocks ``(r, d) x (c, d)`` to an ``(r, c)`` score tile. Logits are ``pairwise / temperature``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Similarity:
    """Base similarity: subclasses define ``prepare`` and ``pairwise``."""

    name: str = "base"

    def prepare(self, x: Tensor) -> Tensor:
        return x

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError  # abstract: each concrete similarity overrides it

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        """Score matrix of raw (unprepared) inputs."""
        return self.pairwise(self.prepare(a), self.prepare(b))


@dataclass(frozen=True)
class Cosine(Similarity):
    """``s_ij = <a_i, b_j> / (|a_i| |b_j|)``."""

    name: str = "cosine"
    eps: float = 1e-12

    def prepare(self, x: Tensor) -> Tensor:
        return F.normalize(x, dim=-1, eps=self.eps)

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        return a @ b.transpose(-1, -2)


@dataclass(frozen=True)
class Dot(Similarity):
    """``s_ij = <a_i, b_j>`` on unnormalised embeddings (RankGen, MNRL with dot scores)."""

    name: str = "dot"

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        return a @ b.transpose(-1, -2)


@dataclass(frozen=True)
class NegSqEuclidean(Similarity):
    """``s_ij = -|a_i - b_j|^2``; with ``normalize=True`` on the unit sphere (CACR's cost)."""

    name: str = "neg_sq_euclidean"
    normalize: bool = False

    def prepare(self, x: Tensor) -> Tensor:
        return F.normalize(x, dim=-1) if self.normalize else x

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        # Expanded form keeps memory at one (r, c) tile; clamp removes tiny negative round-off.
        sq = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2) - 2 * a @ b.transpose(-1, -2)
        return -sq.clamp_min(0)


SIMILARITIES: dict[str, Similarity] = {
    "cosine": Cosine(),
    "dot": Dot(),
    "neg_sq_euclidean": NegSqEuclidean(),
}


def get_similarity(similarity: str | Similarity) -> Similarity:
    """Resolve a similarity by name (``cosine``, ``dot``, ``neg_sq_euclidean``) or pass one through."""
    if isinstance(similarity, Similarity):
        return similarity
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"similarity: unknown option {similarity!r}; expected one of {tuple(SIMILARITIES)}"
        )
    return SIMILARITIES[similarity]


def pairwise_cosine(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarity matrix ``(n, m)`` of two row sets."""
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).transpose(-1, -2)


def sq_distances(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distance matrix ``(n, m)``."""
    return -NegSqEuclidean().pairwise(a, b)


__all__ = [
    "Cosine",
    "Dot",
    "NegSqEuclidean",
    "SIMILARITIES",
    "Similarity",
    "get_similarity",
    "pairwise_cosine",
    "sq_distances",
]
