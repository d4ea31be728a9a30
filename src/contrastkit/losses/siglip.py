"""SigLIP: the pairwise sigmoid loss for two towers (Zhai et al., ICCV 2023)."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from contrastkit._validation import (
    check_embeddings,
    check_finite_result,
    check_positive_float,
    check_same_device,
    check_same_shape,
    compute_dtype,
)
from contrastkit.functional import distributed as ckdist
from contrastkit.functional.sigmoid import sigmoid_rows
from contrastkit.functional.similarity import normalize
from contrastkit.functional.tiled import check_tile_size
from contrastkit.losses.base import ContrastiveLoss


class SigLIP(ContrastiveLoss):
    """Sigmoid loss for language-image pre-training (Zhai et al., ICCV 2023, "Sigmoid Loss for
    Language Image Pre-Training", Eq. 1).

    For ``a``, ``b`` ``(N, d)`` (rows L2-normalised here) with row ``i`` of ``a`` paired with row
    ``i`` of ``b``::

        L = -(1/N) sum_i sum_j log sigmoid(z_ij (t a_i·b_j + b)),   z_ii = 1, z_ij = -1 (i != j)

    (:mod:`contrastkit.functional.sigmoid`). Every pair is an independent binary term, so there is
    no softmax over the batch; ``reduction="none"`` returns the ``(N,)`` row sums
    ``L_i = -sum_j log sigmoid(...)`` and ``"mean"`` their mean (the paper's loss).

    Args:
        scale: the logit scale ``t > 0`` (paper init ``t = exp(t')``, ``t' = log 10``).
        bias: the logit bias ``b`` (paper init ``-10``), any finite number.
        learnable: learn ``t' = log t`` and ``b`` as parameters ``log_scale`` and ``logit_bias``
            initialised from ``scale`` and ``bias`` (as in the paper); otherwise both are constants.
            ``scale`` / ``bias`` passed to ``forward`` override either.
        tile_size: ``None`` (dense ``(N, N)`` logits) or a column block size: the loss then runs
            with memory ``O(N·tile)``, recomputing each block in backward, with the same values and
            gradients.
        gather_distributed: with several ``torch.distributed`` ranks, score this rank's rows of
            ``a`` against every rank's ``b`` (autograd all-gather) and scale the loss so that
            DDP's gradient average equals the single-process gradient on the concatenated batch;
            the mean over ranks of the returned values is the single-process loss. Without a
            process group it changes nothing.
    """

    citation: ClassVar[str] = "Zhai et al. 2023, ICCV, Sigmoid Loss for Language Image Pre-Training (SigLIP)"
    _config_keys: ClassVar[tuple[str, ...]] = ("scale", "bias", "learnable", "tile_size", "gather_distributed")

    def __init__(
        self,
        scale: float = 10.0,
        bias: float = -10.0,
        *,
        learnable: bool = False,
        reduction: str = "mean",
        tile_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(reduction)
        self.scale = check_positive_float(scale, "scale")
        self.bias = _finite_float(bias, "bias")
        for name, value in (("learnable", learnable), ("gather_distributed", gather_distributed)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
        self.learnable = learnable
        self.tile_size = check_tile_size(tile_size)
        self.gather_distributed = gather_distributed
        if learnable:
            self.log_scale = nn.Parameter(torch.tensor(math.log(self.scale)))
            self.logit_bias = nn.Parameter(torch.tensor(self.bias))

    def logit_scale(self) -> Tensor | float:
        """The current ``t``: ``exp(log_scale)`` when learnable, else the constant ``scale``."""
        return self.log_scale.exp() if self.learnable else self.scale

    def logit_bias_value(self) -> Tensor | float:
        """The current ``b``: the ``logit_bias`` parameter when learnable, else the constant ``bias``."""
        return self.logit_bias if self.learnable else self.bias

    def forward(
        self, a: Tensor, b: Tensor, *, scale: Tensor | float | None = None, bias: Tensor | float | None = None
    ) -> Tensor:
        """Loss of paired ``a`` and ``b`` ``(N, d)``; ``scale`` / ``bias`` (floats or scalar tensors,
        e.g. a model's own ``logit_scale.exp()`` and ``logit_bias``) override the stored ones."""
        check_same_device({"a": a, "b": b, "scale": scale, "bias": bias}, cpu_ok=("scale", "bias"))
        check_embeddings(a, "a", finite=False)  # the result is checked instead
        check_embeddings(b, "b", finite=False)
        check_same_shape(a, b, "a", "b")
        t = self.logit_scale() if scale is None else _scalar(scale, "scale", positive=True)
        c = self.logit_bias_value() if bias is None else _scalar(bias, "bias", positive=False)
        dtype = compute_dtype(a, b)
        x, y = normalize(a).to(dtype), normalize(b).to(dtype)
        offset = 0
        distributed = self.gather_distributed and ckdist.is_distributed()
        if distributed:
            # Only the candidates are gathered: this rank's rows of a against all ranks' b, whose
            # positives start at this rank's offset in the global batch.
            gathered = ckdist.gather_batch(y, None, None, None)
            y, offset = gathered.a, gathered.start
        rows = sigmoid_rows(x, y, t, c, positive_offset=offset, tile_size=self.tile_size)
        check_finite_result(rows, {"a": a, "b": b})
        if distributed:
            return ckdist.distributed_reduce(rows, torch.ones_like(rows, dtype=torch.bool), self.reduction)
        return self.reduce(rows)


def _finite_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def _scalar(value: object, name: str, *, positive: bool) -> Tensor | float:
    """A per-call scale (finite, > 0) or bias (finite): a number or a one-element tensor."""
    if isinstance(value, Tensor):
        if value.numel() != 1 or value.dtype.is_complex or not value.dtype.is_floating_point:
            raise ValueError(f"{name}: expected a floating scalar tensor, got shape {tuple(value.shape)} "
                             f"and dtype {value.dtype}")
        if not bool(torch.isfinite(value).all()) or (positive and not bool((value > 0).all())):
            raise ValueError(f"{name}: expected a finite scalar{' > 0' if positive else ''}, got {value}")
        return value.reshape(())
    return check_positive_float(value, name) if positive else _finite_float(value, name)


__all__ = ["SigLIP"]
