"""AutoTCL parts: the parametric augmentation network and its objectives.

Zheng et al., ICLR 2024, "Parametric Augmentation for Time Series Contrastive Learning"
(code: AslanDing/AutoTCL). A series is factorised as ``x = x* + Delta x``; a good view is an
invertible transformation of the informative part,

    v = g(x) ⊙ h(x) ⊙ x,    g(x) ∈ (0, 1)^T (invertible scaling),   h(x) ∈ {0, 1}^T (mask),

both produced per time step by a small TS2Vec encoder with two ``Linear + Sigmoid`` heads
(``w_h`` and ``g``) and broadcast over channels. ``h`` is a hard-concrete sample
(Louizos et al., ICLR 2018) with a straight-through estimator::

    u ~ U(b, 1 - b),  s = sigmoid(log u - log(1 - u) + w_h),  s' = clip(s (1 + zeta) - zeta, 0, 1),
    h = 1[s' > 0.5] + s' - sg(s')

(``b = gumbel_bias``, ``zeta = gamma_zeta``). As in the official code the *sigmoid output*
``w_h`` (not a logit) is added to the logistic noise, so the keep probability stays near
``sigmoid(w_h) in (0.5, 0.73)`` (shifted slightly by the stretch): the mask is never all-ones
nor all-zeros.

Objectives (official ``PRI`` mode and the encoder loss):

- augmentation: ``L_aug = MMD_RBF(maxpool f(x), maxpool f(v)) + lambda_reg ReLU(mean w_h - 0.4)
  + lambda_time R_time(w_h)``, encoder frozen;
- encoder: ``L_enc = InfoNCE_global(maxpool f(x), maxpool f(v); tau = 1) + lambda_local L_local``,
  the global term the core :class:`contrastkit.losses.InfoNCE` (cosine, one direction, diagonal
  positives) and ``L_local`` InfoTS's local contrast between ``k`` pooled segments of a series.
"""

from __future__ import annotations

import random as _random
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_embeddings, check_non_negative_float, check_positive_float, check_same_shape
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE
from contrastkit.timeseries.encoder import TSEncoder, instance_pool
from contrastkit.timeseries.losses import grouped_infonce


def hard_concrete_mask(
    w_h: Tensor, *, gumbel_bias: float = 0.05, gamma_zeta: float = 0.05, sample: bool = True,
    hard: bool = True, generator: torch.Generator | None = None,
) -> Tensor:
    """Stretched hard-concrete mask with straight-through rounding (AutoTCL ``_sample_graph``).

    Args:
        w_h: mask scores (AutoTCL feeds a sigmoid output in ``(0, 1)``).
        gumbel_bias: ``b``; the uniform noise is drawn from ``U(b, 1 - b)``.
        gamma_zeta: stretch ``zeta``: ``s' = clip(s (1 + zeta) - zeta, 0, 1)``.
        sample: add logistic noise (``False``: ``s = sigmoid(w_h)``).
        hard: straight-through ``1[s' > 0.5] + s' - sg(s')``; ``False`` returns ``s'``.
    """
    if not 0 <= gumbel_bias < 0.5:
        raise ValueError(f"gumbel_bias: expected a number in [0, 0.5), got {gumbel_bias!r}")
    if gamma_zeta < 0:
        raise ValueError(f"gamma_zeta: expected a number >= 0, got {gamma_zeta!r}")
    if sample:
        u = torch.rand(w_h.shape, generator=generator, device=w_h.device, dtype=w_h.dtype)
        u = gumbel_bias + (1 - 2 * gumbel_bias) * u
        s = torch.sigmoid(torch.log(u) - torch.log1p(-u) + w_h)
    else:
        s = torch.sigmoid(w_h)
    s = (s * (1 + gamma_zeta) - gamma_zeta).clamp(0, 1)
    if not hard:
        return s
    return (s > 0.5).to(s.dtype) + (s - s.detach())  # (s - sg(s)) is exactly 0: exact {0, 1}


@dataclass
class AugmentationOutput:
    """A view and the factors that produced it (all ``(B, T)`` except ``view``)."""

    view: Tensor
    mask: Tensor
    scale: Tensor
    mask_score: Tensor


class AugmentationNetwork(nn.Module):
    """AutoTCL's parametric augmentation ``v = g(x) ⊙ h(x) ⊙ x`` (Zheng et al., ICLR 2024).

    Args:
        input_dims: input channels.
        aug_dim: width of the augmentation encoder (official ``aug_dim = 16``).
        depth: its number of dilated blocks (official ``aug_depth = 1``).
        gumbel_bias, gamma_zeta: hard-concrete parameters (official 0.05, 0.05).
        hard: straight-through binary mask (official ``hard_mask = True``).
    """

    def __init__(self, input_dims: int, aug_dim: int = 16, depth: int = 1, *,
                 gumbel_bias: float = 0.05, gamma_zeta: float = 0.05, hard: bool = True):
        super().__init__()
        self.encoder = TSEncoder(input_dims, output_dims=aug_dim, hidden_dims=aug_dim, depth=depth,
                                 mask_mode="all_true", dropout=0.0)
        self.mask_head = nn.Sequential(nn.Linear(aug_dim, 1), nn.Sigmoid())
        self.scale_head = nn.Sequential(nn.Linear(aug_dim, 1), nn.Sigmoid())
        self.gumbel_bias, self.gamma_zeta, self.hard = gumbel_bias, gamma_zeta, hard

    def forward(self, x: Tensor, padding_mask: Tensor | None = None, *, sample: bool = True,
                generator: torch.Generator | None = None) -> AugmentationOutput:
        """View of ``x`` ``(B, C, T)``; ``sample=False`` drops the logistic noise."""
        h = self.encoder(x, mask="all_true", padding_mask=padding_mask)      # B x T x aug_dim
        w_h = self.mask_head(h).squeeze(-1)
        g = self.scale_head(h).squeeze(-1)
        mask = hard_concrete_mask(w_h, gumbel_bias=self.gumbel_bias, gamma_zeta=self.gamma_zeta,
                                  sample=sample, hard=self.hard, generator=generator)
        view = x * (g * mask).unsqueeze(1)
        return AugmentationOutput(view=view, mask=mask, scale=g, mask_score=w_h)


def mmd_rbf(source: Tensor, target: Tensor, *, kernel_mul: float = 2.0, kernel_num: int = 5,
            bandwidth: float | None = None) -> Tensor:
    """Biased MMD^2 estimate with a sum of Gaussian kernels (Gretton et al., JMLR 2012).

    ``k(a, b) = sum_{i<kernel_num} exp(-|a - b|^2 / (sigma0 * kernel_mul^i))`` with
    ``sigma0 = mean_{p != q} |u_p - u_q|^2 / kernel_mul^(kernel_num // 2)`` over the pooled set
    ``u = [source; target]`` (detached, as in AutoTCL's ``mmdx``), and
    ``MMD^2 = mean(K_ss + K_tt - K_st - K_ts)`` (equal batch sizes).
    """
    if source.dim() != 2 or source.shape != target.shape:
        raise ValueError(f"target: expected the shape of source {tuple(source.shape)} (n, d), got "
                         f"{tuple(target.shape)}")
    n = source.shape[0]
    total = torch.cat([source, target])
    d2 = (total.unsqueeze(0) - total.unsqueeze(1)).pow(2).sum(-1)
    m = total.shape[0]
    base = (d2.detach().sum() / max(m * m - m, 1) if bandwidth is None
            else torch.as_tensor(bandwidth, dtype=d2.dtype))
    base = base.clamp_min(1e-12) / kernel_mul ** (kernel_num // 2)
    kernels = sum(torch.exp(-d2 / (base * kernel_mul ** i)) for i in range(kernel_num))
    xx, yy = kernels[:n, :n], kernels[n:, n:]
    xy, yx = kernels[:n, n:], kernels[n:, :n]
    return (xx + yy - xy - yx).mean()


def time_smoothness(mask_score: Tensor) -> Tensor:
    """``R_time = mean_t (w_h[t+1] - w_h[t])^2``: penalises ragged masks (AutoTCL's
    ``regular_consistency`` is off by default, ``regular_weight = 0``; this is our stand-in)."""
    if mask_score.shape[-1] < 2:
        return mask_score.new_zeros(())
    return (mask_score[..., 1:] - mask_score[..., :-1]).pow(2).mean()


def global_infonce(z1: Tensor, z2: Tensor, *, temperature: float = 1.0,
                   padding_mask: Tensor | None = None) -> Tensor:
    """AutoTCL's ``global_infoNCE``: core InfoNCE (cosine, ``a_to_b``) on max-pooled series.

    ``L = mean_i -log exp(cos(u_i, u'_i)/tau) / sum_j exp(cos(u_i, u'_j)/tau)``, ``u = maxpool_t z``.
    """
    loss = InfoNCE(temperature=temperature, mode="a_to_b")
    return loss(instance_pool(z1, padding_mask), instance_pool(z2, padding_mask))


def local_positive_pattern(k: int, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """InfoTS / AutoTCL local-contrast pattern over ``k`` segments: ``(positive, valid)``.

    Segment ``i`` is positive on ``i + 1`` (the last segment on ``k - 2``); its denominator is the
    positive plus every segment other than itself and its two neighbours (segment 0 also skips
    segment 2, the last also skips ``k - 3``), as in the official ``local_infoNCE``.
    """
    if k < 4:
        raise ValueError(f"k: expected at least 4 segments, got {k}")
    idx = torch.arange(k, device=device)
    pos = idx.unsqueeze(1) + 1 == idx.unsqueeze(0)
    pos[k - 1, k - 2] = True
    excluded = (idx.unsqueeze(1) - idx.unsqueeze(0)).abs() <= 1
    excluded[0, 2] = True
    excluded[k - 1, k - 3] = True
    return pos, pos | ~excluded


def local_infonce(z: Tensor, *, k: int = 16, temperature: float = 1.0,
                  start: int | None = None) -> Tensor:
    """InfoTS local contrast (Luo et al., AAAI 2023) as used by AutoTCL (``local_infoNCE``).

    ``z`` ``(B, T, D)`` is L2-normalised per step, cut into ``k`` segments of ``T // k`` steps
    (from a random ``start``), max-pooled per segment to ``s_1..s_k`` and scored by dot product;
    each segment's positive is its successor (see :func:`local_positive_pattern`). Solved for
    every series of the batch with the core InfoNCE row form (the official code uses only the
    first series of the batch). Returns 0 when ``T < k``.
    """
    b, t, d = z.shape
    size = t // k
    if size < 1:
        return z.new_zeros(())
    if start is None:
        start = _random.randint(0, t - size * k)
    z = F.normalize(z, dim=-1)[:, start:start + size * k]
    segments = z.reshape(b, k, size, d).amax(dim=2)                      # B x k x D
    pos, valid = local_positive_pattern(k, device=z.device)
    return grouped_infonce(segments, segments, pos.to(z.dtype), valid, temperature=temperature,
                           similarity="dot").mean()


def augmentation_objective(
    z_x: Tensor, z_v: Tensor, mask_score: Tensor, *, reg_weight: float = 0.003,
    time_weight: float = 0.0, padding_mask: Tensor | None = None,
) -> Tensor:
    """AutoTCL ``PRI`` objective of the augmentation network (encoder frozen).

    ``L_aug = MMD_RBF(maxpool z_x, maxpool z_v) + reg_weight ReLU(mean w_h - 0.4)
    + time_weight R_time(w_h)``.
    """
    mmd = mmd_rbf(instance_pool(z_x, padding_mask), instance_pool(z_v, padding_mask))
    return mmd + reg_weight * F.relu(mask_score.mean() - 0.4) + time_weight * time_smoothness(mask_score)


class AutoTCLLoss(ContrastiveLoss):
    """AutoTCL's encoder loss ``L_enc = InfoNCE_global + local_weight * L_local`` (Zheng et al., ICLR 2024).

    ``InfoNCE_global`` is :func:`global_infonce` on the max-pooled series, ``L_local`` InfoTS's local
    contrast :func:`local_infonce` (official ``local_infoNCE``, ``k`` segments from a random start).
    Call ``loss(z_x, z_v)`` with ``(B, T, D)`` encoder outputs of a series and of its augmented view.

    Args:
        local_weight: ``lambda_local >= 0`` (official 0.3); 0 leaves the local term (and its random
            start) out.
        k: number of local segments (>= 4, official 16).
        temperature: ``tau`` of both terms (official 1.0).
        reduction: ``mean`` only: the local term is a mean over the segments of every series, so
            there is no one value per input row.

    Raises:
        ValueError / TypeError: ``z_x`` not a ``(B, T, D)`` floating tensor, ``z_v`` of another shape.
    """

    citation: ClassVar[str] = "Zheng et al. 2024, ICLR, Parametric Augmentation for Time Series Contrastive Learning"
    _config_keys: ClassVar[tuple[str, ...]] = ("local_weight", "k", "temperature")
    reductions: ClassVar[tuple[str, ...]] = ("mean",)
    part_names: ClassVar[tuple[str, ...]] = ("global", "local")

    def __init__(self, local_weight: float = 0.3, k: int = 16, temperature: float = 1.0, *,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.local_weight = check_non_negative_float(local_weight, "local_weight")
        if isinstance(k, bool) or not isinstance(k, int) or k < 4:
            raise ValueError(f"k: expected an integer >= 4 (segments), got {k!r}")
        self.k, self.temperature = k, check_positive_float(temperature, "temperature")

    def parts(self, z_x: Tensor, z_v: Tensor, padding_mask: Tensor | None = None, *,
              start: int | None = None) -> dict[str, Tensor]:
        """The unweighted terms ``{"global", "local"}`` (``local`` only when ``local_weight > 0``)."""
        check_embeddings(z_x, "z_x", rank=3)
        check_embeddings(z_v, "z_v", rank=3)
        check_same_shape(z_x, z_v, "z_x", "z_v")
        parts = {"global": global_infonce(z_x, z_v, temperature=self.temperature, padding_mask=padding_mask)}
        if self.local_weight:
            parts["local"] = local_infonce(z_x, k=self.k, temperature=self.temperature, start=start)
        return parts

    def forward(self, z_x: Tensor, z_v: Tensor, padding_mask: Tensor | None = None, *,
                start: int | None = None) -> Tensor:
        """``L_enc`` (scalar); ``start``: the local segments' first step (``None``: random)."""
        parts = self.parts(z_x, z_v, padding_mask, start=start)
        if "local" in parts:
            return parts["global"] + self.local_weight * parts["local"]
        return parts["global"]


def encoder_objective(z_x: Tensor, z_v: Tensor, *, local_weight: float = 0.3, k: int = 16,
                      temperature: float = 1.0, padding_mask: Tensor | None = None) -> Tensor:
    """AutoTCL encoder objective ``InfoNCE_global + local_weight * L_local``: :class:`AutoTCLLoss`."""
    return AutoTCLLoss(local_weight, k, temperature)(z_x, z_v, padding_mask)


__all__ = [
    "AugmentationNetwork",
    "AugmentationOutput",
    "AutoTCLLoss",
    "augmentation_objective",
    "encoder_objective",
    "global_infonce",
    "hard_concrete_mask",
    "local_infonce",
    "local_positive_pattern",
    "mmd_rbf",
    "time_smoothness",
]
