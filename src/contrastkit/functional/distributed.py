"""One autograd-correct all-gather for every loss, and the local-anchor / global-candidate split.

Each rank scores its *local* anchors against the *global* candidates (all ranks' rows, in rank
order). With ``W`` ranks, ``N`` global samples and per-sample losses ``l_s``, rank ``r`` returns

    L_r = W * (sum_{s on r} l_s) / N          (reduction="mean"; "sum": W * sum_{s on r} l_s)

The gather's backward all-reduces (sums) the incoming gradient and keeps the local slice, so the
gradient reaching rank ``r``'s embeddings is ``sum_{r'} dL_{r'}/dz_r``; DDP then averages the
parameter gradients over ranks: ``(1/W) grad sum_r L_r = grad (1/N) sum_s l_s``, exactly the
single-process gradient on the concatenated batch. The mean of the returned values over ranks is
the single-process loss value.

Pitfalls this avoids (see docs/scale.md): non-autograd collectives (gradients only through local
rows), dividing by ``W`` twice or not at all, and mis-ordered gathered blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from contrastkit.functional.problem import Direction, Problem


def world_size() -> int:
    """``torch.distributed`` world size, 1 when it is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def rank() -> int:
    """This process's rank, 0 when ``torch.distributed`` is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0


def is_distributed() -> bool:
    """True when ``torch.distributed`` is initialised with more than one rank."""
    return world_size() > 1


def _sizes(n: int, device: torch.device) -> list[int]:
    local = torch.tensor([n], dtype=torch.long, device=device)
    out = [torch.zeros_like(local) for _ in range(world_size())]
    dist.all_gather(out, local)
    return [int(t) for t in out]


def _gather(x: Tensor, sizes: list[int]) -> Tensor:
    """Concatenate every rank's ``x`` (first dims ``sizes``) in rank order, padding to the max."""
    longest = max(sizes)
    x = x.contiguous()
    if x.shape[0] < longest:
        pad = torch.zeros((longest - x.shape[0], *x.shape[1:]), dtype=x.dtype, device=x.device)
        x = torch.cat([x, pad])
    out = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(out, x)
    return torch.cat([t[:n] for t, n in zip(out, sizes, strict=True)])


class _AllGatherWithGrad(torch.autograd.Function):
    """Forward: concatenation over ranks. Backward: all_reduce(SUM) of the gradient, local slice."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:  # type: ignore[override]
        sizes = _sizes(x.shape[0], x.device)
        me = rank()
        ctx.start = sum(sizes[:me])  # type: ignore[attr-defined]
        ctx.stop = ctx.start + sizes[me]  # type: ignore[attr-defined]
        return _gather(x, sizes)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.start:ctx.stop]  # type: ignore[attr-defined]


def all_gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` over all ranks in rank order, with gradients flowing back to every rank.

    Local batch sizes may differ between ranks (blocks are padded for the collective and trimmed).
    Backward: ``dx_r = (sum_{r'} grad_{r'})[rows of r]``, i.e. ``all_reduce(SUM)`` then the local
    slice. Without an initialised process group (or with one rank) it returns ``x`` unchanged.
    """
    if not is_distributed():
        return x
    return _AllGatherWithGrad.apply(x)


def all_gather_no_grad(x: Tensor) -> Tensor:
    """Concatenation over ranks in rank order for tensors without gradients (labels, ids)."""
    if not is_distributed():
        return x
    with torch.no_grad():
        return _gather(x, _sizes(x.shape[0], x.device))


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over ranks (no gradient); ``x`` itself when not distributed."""
    if not is_distributed():
        return x
    out = x.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


@dataclass(frozen=True)
class GatheredBatch:
    """Global inputs (concatenated over ranks) and this rank's sample range ``[start, stop)``."""

    a: Tensor
    b: Tensor | None
    labels: Tensor | None
    negatives: Tensor | None
    start: int
    stop: int


def gather_batch(
    a: Tensor, b: Tensor | None, labels: Tensor | None, negatives: Tensor | None
) -> GatheredBatch:
    """Gather a loss call's inputs over ranks. Every rank must pass the same kind of arguments
    (``b``, ``labels``, ``negatives`` given everywhere or nowhere); sizes may differ."""
    if not isinstance(a, Tensor):
        raise TypeError(f"a: expected a torch.Tensor, got {type(a).__name__}")
    sizes = _sizes(a.shape[0], a.device)
    me = rank()
    start = sum(sizes[:me])
    ga = all_gather_with_grad(a)
    gb = None if b is None else all_gather_with_grad(b)
    gl = None if labels is None else all_gather_no_grad(labels)
    gn = None if negatives is None else all_gather_with_grad(negatives)
    return GatheredBatch(ga, gb, gl, gn, start, start + sizes[me])


def localize(problem: Problem, start: int, stop: int) -> Problem:
    """Keep, in every direction, only the anchors of samples ``[start, stop)`` (this rank's rows),
    against all candidates; sample indices become local (``s - start``)."""
    directions = []
    for d in problem.directions:
        index = ((d.sample >= start) & (d.sample < stop)).nonzero().squeeze(1)
        directions.append(Direction(
            d.anchors[index], d.candidates, d.positives.select_anchors(index),
            d.sample[index] - start, False,
        ))
    return Problem(tuple(directions), stop - start)


def distributed_reduce(per_sample: Tensor, counted: Tensor, reduction: str) -> Tensor:
    """Scale this rank's per-sample losses so that DDP's gradient average is the global gradient.

    ``mean``: ``W * sum_local / (global number of counted samples)``; ``sum``: ``W * sum_local``;
    ``none``: the local per-sample losses, unscaled.
    """
    if reduction == "none":
        return per_sample
    w = world_size()
    if reduction == "sum":
        return per_sample.sum() * w
    total = all_reduce_sum(counted.sum().to(per_sample.dtype))
    return per_sample.sum() * w / total.clamp_min(1)


def global_log_normalizer(z: Tensor) -> tuple[Tensor, int]:
    """``(log sum_k exp(z_k), count)`` over every rank's ``z`` (no gradient); used by DCLW's
    softmax over all anchors."""
    if not is_distributed():
        return torch.logsumexp(z, 0), z.shape[0]
    allz = all_gather_no_grad(z.detach())
    return torch.logsumexp(allz, 0), allz.shape[0]


__all__ = [
    "GatheredBatch",
    "all_gather_no_grad",
    "all_gather_with_grad",
    "all_reduce_sum",
    "distributed_reduce",
    "gather_batch",
    "global_log_normalizer",
    "is_distributed",
    "localize",
    "rank",
    "world_size",
]
