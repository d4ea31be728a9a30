"""Pairwise similarities between anchors and candidates.

A similarity has two steps so that tiled and distributed code can split the work:
``prepare`` is applied once per row (e.g. L2 normalisation) and ``pairwise`` maps prepared
row blocks ``(r, d) x (c, d)`` to an ``(r, c)`` score tile. Logits are ``pairwise / temperature``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.functional._autograd import first_order_only

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _power_of_two_scale(peak: Tensor) -> Tensor:
    """A power of two ``c`` with ``peak / c`` in ``[0.5, 1)`` (``c = 1`` for 0), its exponent kept
    where ``c`` and ``1 / c`` are representable normal numbers: dividing by ``c`` is exact."""
    finfo = torch.finfo(peak.dtype)
    _, exponent = torch.frexp(peak)
    exponent = exponent.clamp(math.frexp(finfo.tiny)[1], math.frexp(finfo.max)[1] - 1)
    return torch.ldexp(torch.ones_like(peak), exponent)


def normalize(x: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """Scale-safe L2 normalisation ``x / max(|x|, eps)`` along ``dim``, in ``x``'s dtype.

    ``torch.nn.functional.normalize`` squares the entries in the input dtype, so the norm
    overflows to ``inf`` (and the row silently becomes 0) once ``|x|^2`` exceeds the dtype's range:
    float16 rows with entries of about 6000 at ``d = 128``, float32 rows with norms of about
    ``1e19``. Here each row is first divided by a power of two ``c`` close to its largest absolute
    entry (exact in floating point, so in range the result equals ``F.normalize`` bit for bit),
    the norm is taken of entries in ``[-1, 1]``, and half inputs are computed in float32. ``c``
    carries no gradient: ``x / |x|`` does not depend on the scale of ``x``, so the gradient is
    the one of ``F.normalize``. An all-zero row stays zero; rows with ``|x| < eps`` give
    ``x / eps``, as in ``F.normalize``.

    Args:
        x: ``(..., d)`` floating tensor (any shape; ``dim`` is normalised).
        dim: the dimension to normalise.
        eps: lower bound on the norm.

    Returns:
        A tensor of ``x``'s shape and dtype.
    """
    work = x.float() if x.dtype in _LOW_PRECISION else x
    with torch.no_grad():
        scale = _power_of_two_scale(work.abs().amax(dim=dim, keepdim=True))
    scaled = work / scale
    norm = torch.linalg.vector_norm(scaled, dim=dim, keepdim=True)
    # |x| = scale * |scaled| >= eps  <=>  |scaled| >= eps / scale.
    out = scaled / torch.maximum(norm, eps / scale)
    return out.to(x.dtype)


class _ScaledUnitRows(torch.autograd.Function):
    """``y = s x / max(|x|, eps)`` per row from precomputed row norms ``n``, one pass each way
    (first order only: the norms are computed without a graph).

    Backward: with ``u = x / n`` and ``r = s / max(n, eps)``, ``dx = r (g - u (u . g))`` (no
    projection where ``n < eps``, as the clamp is then constant) and ``ds = sum_i u_i . g_i``."""

    @staticmethod
    def forward(ctx, x: Tensor, norm: Tensor, scale: Tensor | float, eps: float) -> Tensor:  # type: ignore[override]
        r = norm.clamp_min(eps)
        r = (scale / r) if isinstance(scale, Tensor) else r.reciprocal_().mul_(scale)
        y = x * r.unsqueeze(1)
        ctx.eps = eps
        ctx.scale_is_tensor = isinstance(scale, Tensor)
        ctx.save_for_backward(y, r, norm, scale if isinstance(scale, Tensor)
                              else torch.tensor(float(scale), dtype=torch.float64, device=x.device))
        return y

    @staticmethod
    @first_order_only
    def backward(ctx, g: Tensor) -> tuple[Tensor, None, Tensor | None, None]:  # type: ignore[override]
        y, r, norm, scale = ctx.saved_tensors
        s = scale.to(y.dtype)
        # One (n, d) allocation, the returned gradient: it first holds y * g for the row dots
        # (temporaries of the size of the embeddings cost page faults, not only arithmetic).
        dx = torch.mul(y, g)
        dot = dx.sum(1)  # = s (u . g)
        coef = torch.where(norm >= ctx.eps, r * dot / (s * s), 0.0)
        torch.mul(g, r.unsqueeze(1), out=dx).addcmul_(y, coef.neg_().unsqueeze(1))
        ds = (dot.sum() / s).to(scale.dtype) if ctx.scale_is_tensor and ctx.needs_input_grad[2] else None
        return dx, None, ds, None


def normalize_scaled(x: Tensor, scale: Tensor | float = 1.0, eps: float = 1e-12) -> Tensor:
    """``scale * normalize(x, dim=-1, eps=eps)`` for ``(n, d)`` rows in one pass forward and backward.

    Same values and gradients as :func:`normalize` times ``scale``; where every row's norm is in
    the range in which squaring its entries can neither overflow nor underflow (the common case)
    the norm is taken directly and one fused autograd step replaces the scale-safe path's five
    elementwise passes, else it is :func:`normalize` (scale-safe) times ``scale``. ``scale``: a
    number or a 0-d tensor (it receives a gradient, e.g. ``1 / tau`` of a learnt temperature).
    Half inputs are normalised in float32 and returned in their dtype, as :func:`normalize`.

    Raises:
        ValueError: ``x`` not 2-D.
    """
    if x.dim() != 2:
        raise ValueError(f"x: expected a 2-D (n, d) tensor, got shape {tuple(x.shape)}")
    if x.dtype in _LOW_PRECISION or x.shape[0] == 0:
        return normalize(x, dim=-1, eps=eps) * scale
    finfo = torch.finfo(x.dtype)
    with torch.no_grad():
        norm = torch.linalg.vector_norm(x, dim=1)
        # Below 2^20 sqrt(tiny) squares of the entries may underflow; inf/NaN: overflow.
        low = math.sqrt(finfo.tiny) * 2.0**20
        in_range = bool(((norm >= low) & (norm <= math.sqrt(finfo.max) / 2)).all())
    if not in_range:
        return normalize(x, dim=-1, eps=eps) * scale
    return _ScaledUnitRows.apply(x, norm, scale, eps)


def sq_distances(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances ``|a_i - b_j|^2``, ``(..., r, c)`` from ``(..., r, d) x (..., c, d)``.

    Expanded form ``|a|^2 + |b|^2 - 2 a.b`` (memory of one ``(r, c)`` tile; a clamp removes tiny
    negative round-off), computed scale-safely: both sides are divided by one power of two ``c``
    near their largest entry and the result multiplied back by ``c^2``, so ``|a|^2`` cannot
    overflow while the distance itself is representable (a distance beyond the dtype's range is
    ``inf``, never ``inf - inf = NaN``). ``c`` carries no gradient (it cancels exactly). Half inputs
    are computed in float32; the result has the promoted input dtype.
    """
    out_dtype = torch.promote_types(a.dtype, b.dtype)
    dtype = torch.float32 if out_dtype in _LOW_PRECISION else out_dtype
    a, b = a.to(dtype), b.to(dtype)
    with torch.no_grad():
        peak = torch.maximum(a.abs().amax(), b.abs().amax()) if a.numel() and b.numel() else a.new_zeros(())
        scale = _power_of_two_scale(peak)
    a, b = a / scale, b / scale
    sq = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2) - 2 * a @ b.transpose(-1, -2)
    return (sq.clamp_min(0) * scale * scale).to(out_dtype)

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
        return normalize(x, dim=-1, eps=self.eps)

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
        return normalize(x, dim=-1) if self.normalize else x

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        return -sq_distances(a, b)


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
    return normalize(a, dim=-1) @ normalize(b, dim=-1).transpose(-1, -2)


__all__ = [
    "Cosine",
    "Dot",
    "NegSqEuclidean",
    "SIMILARITIES",
    "Similarity",
    "get_similarity",
    "normalize",
    "normalize_scaled",
    "pairwise_cosine",
    "sq_distances",
]
