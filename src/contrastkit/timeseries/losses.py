"""TS2Vec's hierarchical contrastive loss, composed from the core InfoNCE parts.

Yue et al., AAAI 2022, "TS2Vec: Towards Universal Representation of Time Series". For two views
``r, r'`` of shape ``(B, T, D)`` (dot-product scores, no temperature):

- instance contrast at time ``t`` (positives by sample index): for ``i`` in ``1..B``
  ``l_inst(i,t) = -log exp(r_it . r'_it) / sum_{j} (exp(r_it . r'_jt) + 1[i != j] exp(r_it . r_jt))``
  and symmetrically for ``r'``: exactly NT-Xent (two views, ``tau = 1``, dot similarity) on the
  ``2B`` vectors of step ``t``;
- temporal contrast of series ``i`` (positives by time index): the same NT-Xent on the ``2T``
  vectors ``r_i1..r_iT, r'_i1..r'_iT`` of one series;
- hierarchy: ``L = 1/K sum_k [alpha L_inst^(k) + (1-alpha) L_temp^(k)]`` over scales
  ``k = 0..K-1`` obtained by max-pooling with kernel 2 along time until ``T = 1``; the final
  ``T = 1`` scale adds only ``alpha L_inst`` (and counts in ``K``).

Each group (one time step for instance contrast, one series for temporal contrast) is one
two-view InfoNCE problem; they are solved together by :func:`grouped_two_view_infonce`, which
uses the core similarity, the core sparse positives (:meth:`Positives.views`) and the core row
form :func:`contrastkit.functional.forms.info_nce_rows`, and equals calling
``contrastkit.losses.InfoNCE(temperature=1, similarity="dot")`` once per group (tested).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit._validation import check_same_device
from contrastkit.functional.grouped import grouped_infonce  # re-exported: moved to the core
from contrastkit.functional.positives import Positives
from contrastkit.functional.similarity import Similarity
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE


def _check_views(z1: Tensor, z2: Tensor) -> None:
    check_same_device({"z1": z1, "z2": z2})
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, Tensor) or z.dim() != 3:
            raise ValueError(f"{name}: expected a tensor (batch, time, dims), got "
                             f"{getattr(z, 'shape', type(z).__name__)}")
    if z1.shape != z2.shape:
        raise ValueError(f"z2: expected the same shape as z1 {tuple(z1.shape)}, got {tuple(z2.shape)}")


def grouped_two_view_infonce(
    z1: Tensor, z2: Tensor, *, temperature: float = 1.0, similarity: str | Similarity = "dot"
) -> Tensor:
    """Independent two-view NT-Xent problems solved in one batch.

    ``z1, z2``: ``(G, N, D)``; group ``g`` is the problem ``InfoNCE(z1[g], z2[g])`` with ``2N``
    anchors, each scored against the other ``2N - 1`` rows of its group and positive on its other
    view (:meth:`Positives.views`). Returns the per-anchor losses ``(G, 2N)`` (view 1 then view 2).
    """
    n = z1.shape[1]
    stacked = torch.cat([z1, z2], dim=1)
    weight, valid = Positives.views(n, 2, device=z1.device).dense(z1.dtype)
    return grouped_infonce(stacked, stacked, weight, valid, temperature=temperature,
                           similarity=similarity)


def instance_contrastive_loss(z1: Tensor, z2: Tensor, *, loop: bool = False) -> Tensor:
    """TS2Vec instance contrast: NT-Xent between series at every time step (``tau=1``, dot).

    ``z1, z2``: ``(B, T, D)``. Returns 0 for ``B = 1`` (no negatives), as TS2Vec does.
    ``loop=True`` calls ``contrastkit.losses.InfoNCE`` once per time step (reference path).
    """
    _check_views(z1, z2)
    if z1.shape[0] == 1:
        return z1.new_zeros(())
    if loop:
        loss = InfoNCE(temperature=1.0, similarity="dot")
        return torch.stack([loss(z1[:, t], z2[:, t]) for t in range(z1.shape[1])]).mean()
    return grouped_two_view_infonce(z1.transpose(0, 1), z2.transpose(0, 1)).mean()


def temporal_contrastive_loss(z1: Tensor, z2: Tensor, *, loop: bool = False) -> Tensor:
    """TS2Vec temporal contrast: NT-Xent between time steps of the same series (``tau=1``, dot).

    Positives by time index: step ``t`` of view 1 with step ``t`` of view 2. Returns 0 for
    ``T = 1``. ``loop=True`` calls ``contrastkit.losses.InfoNCE`` once per series.
    """
    _check_views(z1, z2)
    if z1.shape[1] == 1:
        return z1.new_zeros(())
    if loop:
        loss = InfoNCE(temperature=1.0, similarity="dot")
        return torch.stack([loss(z1[i], z2[i]) for i in range(z1.shape[0])]).mean()
    return grouped_two_view_infonce(z1, z2).mean()


def _pool2(z: Tensor) -> Tensor:
    return F.max_pool1d(z.transpose(1, 2), kernel_size=2).transpose(1, 2)


def hierarchical_contrastive_loss(
    z1: Tensor, z2: Tensor, *, alpha: float = 0.5, temporal_unit: int = 0,
    final_instance: bool = True, loop: bool = False,
) -> Tensor:
    """TS2Vec's hierarchical loss (see module docstring).

    Args:
        z1, z2: ``(B, T, D)`` representations of the two (overlapping-crop) views.
        alpha: weight of the instance term, ``1 - alpha`` for the temporal term.
        temporal_unit: skip the temporal term on the first ``temporal_unit`` scales.
        final_instance: add the ``T = 1`` instance term (TS2Vec: True; COMET's variant: False).
        loop: use the per-group ``InfoNCE`` reference path.
    """
    _check_views(z1, z2)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    loss = z1.new_zeros(())
    depth = 0
    while z1.shape[1] > 1:
        if alpha != 0:
            loss = loss + alpha * instance_contrastive_loss(z1, z2, loop=loop)
        if depth >= temporal_unit and alpha != 1:
            loss = loss + (1 - alpha) * temporal_contrastive_loss(z1, z2, loop=loop)
        depth += 1
        z1, z2 = _pool2(z1), _pool2(z2)
    if final_instance and z1.shape[1] == 1:
        if alpha != 0:
            loss = loss + alpha * instance_contrastive_loss(z1, z2, loop=loop)
        depth += 1
    return loss / max(depth, 1)


class HierarchicalContrastiveLoss(ContrastiveLoss):
    """Loss face of :func:`hierarchical_contrastive_loss` (TS2Vec, Yue et al. 2022).

    ``L = 1/K sum_k [alpha L_inst^(k) + (1 - alpha) L_temp^(k)]`` over max-pooled scales. Call
    ``loss(z1, z2)`` with ``(B, T, D)`` views. ``reduction``: ``mean`` only (each scale is a mean
    over time steps and series together, so there is no one value per input row).
    """

    citation: ClassVar[str] = "Yue et al. 2022, AAAI, TS2Vec: Towards Universal Representation of Time Series"
    _config_keys: ClassVar[tuple[str, ...]] = ("alpha", "temporal_unit", "final_instance")
    reductions: ClassVar[tuple[str, ...]] = ("mean",)

    def __init__(self, alpha: float = 0.5, temporal_unit: int = 0, final_instance: bool = True, *,
                 reduction: str = "mean"):
        super().__init__(reduction)
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
        if isinstance(temporal_unit, bool) or not isinstance(temporal_unit, int) or temporal_unit < 0:
            raise ValueError(f"temporal_unit: expected an integer >= 0, got {temporal_unit!r}")
        self.alpha, self.temporal_unit, self.final_instance = alpha, temporal_unit, final_instance

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return hierarchical_contrastive_loss(z1, z2, alpha=self.alpha, temporal_unit=self.temporal_unit,
                                             final_instance=self.final_instance)


def take_per_row(x: Tensor, offsets: Tensor, length: int) -> Tensor:
    """``out[i] = x[i, offsets[i] : offsets[i] + length]`` for ``x`` of shape ``(B, T, ...)``."""
    index = offsets.view(-1, 1) + torch.arange(length, device=x.device).view(1, -1)
    return x[torch.arange(x.shape[0], device=x.device).view(-1, 1), index]


def ts2vec_crop_pair(
    x: Tensor, *, min_length: int = 2, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, int]:
    """TS2Vec's two overlapping random crops (contextual consistency, Yue et al. 2022 Sec. 3.2).

    Draws ``l ~ U{min_length..T}``, an overlap ``[a2, b1)`` of length ``l`` and outer bounds
    ``a1 <= a2``, ``b2 >= b1``, shifted by one random offset per series. View 1 is
    ``x[.., a1:b1]``, view 2 is ``x[.., a2:b2]``; the shared segment is the last ``l`` steps of
    view 1 and the first ``l`` of view 2, so representations are compared as
    ``f(v1)[:, -l:]`` vs ``f(v2)[:, :l]``.

    Args:
        x: ``(B, C, T)``.
    Returns:
        ``(view_1, view_2, l)``.
    """
    b, _, t = x.shape
    if t < min_length:
        raise ValueError(f"x: series length {t} is shorter than min_length={min_length}")

    def draw(lo: int, hi: int) -> int:  # inclusive bounds
        return int(torch.randint(lo, hi + 1, (1,), generator=generator))

    crop_l = draw(min_length, t)
    crop_left = draw(0, t - crop_l)
    crop_right = crop_left + crop_l
    crop_eleft = draw(0, crop_left)
    crop_eright = draw(crop_right, t)
    offset = torch.randint(-crop_eleft, t - crop_eright + 1, (b,), generator=generator).to(x.device)
    xt = x.transpose(1, 2)
    v1 = take_per_row(xt, offset + crop_eleft, crop_right - crop_eleft).transpose(1, 2)
    v2 = take_per_row(xt, offset + crop_left, crop_eright - crop_left).transpose(1, 2)
    return v1, v2, crop_l


__all__ = [
    "HierarchicalContrastiveLoss",
    "grouped_infonce",
    "grouped_two_view_infonce",
    "hierarchical_contrastive_loss",
    "instance_contrastive_loss",
    "take_per_row",
    "temporal_contrastive_loss",
    "ts2vec_crop_pair",
]
