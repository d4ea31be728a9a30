"""The pairwise sigmoid form (Zhai et al., ICCV 2023, "Sigmoid Loss for Language Image
Pre-Training", Eq. 1): every anchor-candidate pair is an independent binary classification.

For prepared (L2-normalised) anchors ``x`` ``(R, d)`` and candidates ``y`` ``(C, d)``, logits
``l_ij = t x_i·y_j + b`` and labels ``z_ij = 1`` for the anchor's positive column ``j = o + i``
(``o`` = ``positive_offset``: the anchors' first row among the candidates, 0 on one process, the
rank's start in a gathered batch) and ``z_ij = -1`` elsewhere, the per-anchor loss is::

    L_i = -sum_j log sigmoid(z_ij l_ij)

and the paper's loss is ``(1/N) sum_i L_i``. ``-log sigmoid(x) = softplus(-x)`` is evaluated as
``F.logsigmoid`` does (``max(-x, 0) + log1p(exp(-|x|))``), which cannot overflow.

The tiled form (:class:`TiledSigmoidRows`) streams the candidates in column blocks of ``tile``:
forward keeps only ``L`` (``O(R)``), backward recomputes each block, so memory is
``O(R·tile)`` instead of ``O(R·C)``. With ``G_ij = dL/dl_ij = -g_i z_ij sigmoid(-z_ij l_ij)``
(``g_i`` the upstream gradient of ``L_i``)::

    dx = t G y,   dy = t G^T x,   dt = sum_ij G_ij x_i·y_j,   db = sum_ij G_ij
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.functional._autograd import first_order_only


def _labels_sign(n_rows: int, cols: slice, offset: int, device: torch.device) -> Tensor:
    """``(R, c)`` bool tile: True where candidate ``j`` is anchor ``i``'s positive (``j = o + i``)."""
    rows = torch.arange(n_rows, device=device) + offset
    col_index = torch.arange(cols.start, cols.stop, device=device)
    return rows.unsqueeze(1) == col_index.unsqueeze(0)


def _tile_logits(x: Tensor, y: Tensor, scale: Tensor | float, bias: Tensor | float) -> tuple[Tensor, Tensor]:
    sim = x @ y.transpose(0, 1)
    return sim, sim * scale + bias


def sigmoid_rows_dense(
    x: Tensor, y: Tensor, scale: Tensor | float, bias: Tensor | float, *, positive_offset: int = 0
) -> Tensor:
    """Per-anchor sigmoid losses ``L_i`` ``(R,)`` from the whole ``(R, C)`` logit matrix (autograd)."""
    _, logits = _tile_logits(x, y, scale, bias)
    positive = _labels_sign(x.shape[0], slice(0, y.shape[0]), positive_offset, x.device)
    return -F.logsigmoid(torch.where(positive, logits, -logits)).sum(dim=1)


class TiledSigmoidRows(torch.autograd.Function):
    """:func:`sigmoid_rows_dense` over column blocks, recomputed in backward (memory ``O(R·tile)``).

    ``scale`` and ``bias`` are 0-dim tensors (learnable or not); their gradients are returned when
    they require one.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        x: Tensor,
        y: Tensor,
        scale: Tensor,
        bias: Tensor,
        positive_offset: int,
        tile: int,
    ) -> Tensor:
        total = x.new_zeros(x.shape[0])
        for start in range(0, y.shape[0], tile):
            cols = slice(start, min(start + tile, y.shape[0]))
            _, logits = _tile_logits(x, y[cols], scale, bias)
            positive = _labels_sign(x.shape[0], cols, positive_offset, x.device)
            total -= F.logsigmoid(torch.where(positive, logits, -logits)).sum(dim=1)
        ctx.save_for_backward(x, y, scale, bias)
        ctx.positive_offset, ctx.tile = positive_offset, tile  # type: ignore[attr-defined]
        return total

    @staticmethod
    @first_order_only
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, y, scale, bias = ctx.saved_tensors
        offset, tile = ctx.positive_offset, ctx.tile  # type: ignore[attr-defined]
        need_x, need_y, need_scale, need_bias = ctx.needs_input_grad[:4]
        grad_x = torch.zeros_like(x) if need_x else None
        grad_y = torch.zeros_like(y) if need_y else None
        grad_scale = torch.zeros((), dtype=x.dtype, device=x.device)
        grad_bias = torch.zeros((), dtype=x.dtype, device=x.device)
        for start in range(0, y.shape[0], tile):
            cols = slice(start, min(start + tile, y.shape[0]))
            yc = y[cols]
            sim, logits = _tile_logits(x, yc, scale, bias)
            positive = _labels_sign(x.shape[0], cols, offset, x.device)
            # d/dl [-log sigmoid(z l)] = -z sigmoid(-z l): z = +1 on the positive, -1 elsewhere.
            g = torch.where(positive, -torch.sigmoid(-logits), torch.sigmoid(logits)) * grad.unsqueeze(1)
            if need_scale:
                grad_scale += (g * sim).sum()
            if need_bias:
                grad_bias += g.sum()
            g = g * scale
            if grad_x is not None:
                grad_x.addmm_(g, yc)
            if grad_y is not None:
                grad_y[cols] = g.transpose(0, 1) @ x
        return (
            grad_x,
            grad_y,
            grad_scale.to(scale.dtype).reshape(scale.shape) if need_scale else None,
            grad_bias.to(bias.dtype).reshape(bias.shape) if need_bias else None,
            None,
            None,
        )


def sigmoid_rows(
    x: Tensor,
    y: Tensor,
    scale: Tensor | float,
    bias: Tensor | float,
    *,
    positive_offset: int = 0,
    tile_size: int | None = None,
) -> Tensor:
    """Per-anchor pairwise sigmoid losses ``L_i`` ``(R,)`` of prepared ``x`` ``(R, d)`` against
    ``y`` ``(C, d)`` (anchor ``i``'s positive is column ``positive_offset + i``): dense with
    ``tile_size=None``, else :class:`TiledSigmoidRows` with the same values and gradients."""
    if tile_size is None:
        return sigmoid_rows_dense(x, y, scale, bias, positive_offset=positive_offset)
    scale_t = scale if isinstance(scale, Tensor) else torch.tensor(scale, dtype=x.dtype, device=x.device)
    bias_t = bias if isinstance(bias, Tensor) else torch.tensor(bias, dtype=x.dtype, device=x.device)
    return TiledSigmoidRows.apply(x, y, scale_t, bias_t, positive_offset, tile_size)


__all__ = ["TiledSigmoidRows", "sigmoid_rows", "sigmoid_rows_dense"]
