"""SupReMix: supervised contrastive regression with mixup pairs (Wu et al., 2023, "Mixup Your Own
Pairs", arXiv 2309.16633).

A composition of the parts: cosine similarity on the batch plus embedding-level mixtures whose
logits come from the same Gram matrix (``<z_i, a z_j + (1 - a) z_k> = a s_ij + (1 - a) s_ik``), so no
mixture vector is ever materialised; positives = same label and anchor-exclusive mixtures; a
"distance magnifying" weight on every denominator term; and the InfoNCE form
(:func:`contrastkit.functional.forms.info_nce_rows`).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_embeddings,
    check_positive_float,
    check_same_device,
    check_same_shape,
    compute_dtype,
)
from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss, per_sample_mean

# The reference code's --beta option: 0 -> Beta(2, 8) (default), 1 -> Beta(8, 2), 2 -> Beta(5, 5).
BETA_PRESETS: dict[int, tuple[float, float]] = {0: (2.0, 8.0), 1: (8.0, 2.0), 2: (5.0, 5.0)}


def check_targets(y: object, n: int, name: str = "labels") -> Tensor:
    """Finite real regression targets of shape ``(n,)``."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of regression targets, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},) (one target per row), got {tuple(y.shape)}")
    if y.dtype == torch.bool or y.dtype.is_complex:
        raise TypeError(f"{name}: expected real targets, got {y.dtype}")
    if y.dtype.is_floating_point and not torch.isfinite(y).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return y


def check_mix_lambda(mix_lambda: object, m: int) -> Tensor:
    """Mixing weights ``lambda``: a real ``(m, m)`` tensor with every entry in ``[0, 1]`` (a convex
    combination ``lambda z_i + (1 - lambda) z_k``; NaN or values outside would give meaningless
    mixtures and labels)."""
    if not isinstance(mix_lambda, Tensor):
        raise TypeError(f"mix_lambda: expected a torch.Tensor, got {type(mix_lambda).__name__}")
    if mix_lambda.dtype == torch.bool or mix_lambda.dtype.is_complex:
        raise TypeError(f"mix_lambda: expected real weights, got {mix_lambda.dtype}")
    if tuple(mix_lambda.shape) != (m, m):
        raise ValueError(f"mix_lambda: expected shape ({m}, {m}), got {tuple(mix_lambda.shape)}")
    if not bool(((mix_lambda >= 0) & (mix_lambda <= 1)).all()):  # False for NaN too
        raise ValueError("mix_lambda: expected every entry in [0, 1] (mixing weights); got NaN or a value outside")
    return mix_lambda


def positive_mixture_mask(labels: Tensor, window: float) -> tuple[Tensor, Tensor]:
    """Anchor-exclusive (hard positive) mixtures: ``(A, A, A)`` mask over ``(i, j, k)`` with
    ``y_j < y_i < y_k``, ``y_i - y_j < window``, ``y_k - y_i < window``, and the mixing weights
    ``alpha_ijk = (y_k - y_i) / (y_k - y_j)`` (so ``alpha y_j + (1 - alpha) y_k = y_i``)."""
    yi, yj, yk = labels[:, None, None], labels[None, :, None], labels[None, None, :]
    mask = (yj < yi) & (yi < yk) & (yi - yj < window) & (yk - yi < window)
    alpha = ((yk - yi) / (yk - yj).clamp_min(1e-9)).clamp(0, 1)
    return mask, alpha


def negative_mixture_mask(labels: Tensor) -> Tensor:
    """Anchor-inclusive (hard negative) mixtures ``lambda z_i + (1 - lambda) z_k``: ``(A, A)`` mask
    ``y_k != y_i``."""
    return labels[None, :] != labels[:, None]


class SupReMix(ContrastiveLoss):
    """Supervised contrastive regression with mixup pairs (Wu et al. 2023, SupReMix).

    Views ``a``, ``b`` ``(N, d)`` of ``N`` samples with real targets ``y`` (2N anchors ``z``, unit rows,
    ``l_ij = <z_i, z_j> / tau``). Mixtures of anchor ``i`` (no gradient through the mixture when
    ``detach_mixtures``, as in the reference code):

    - negatives (anchor-inclusive): ``m = lambda z_i + (1 - lambda) z_k`` for every ``k`` with
      ``y_k != y_i``, ``lambda ~ Beta(beta)`` (default ``Beta(2, 8)``), label ``lambda y_i + (1 - lambda) y_k``;
    - positives (anchor-exclusive): ``m = alpha z_j + (1 - alpha) z_k`` for ``y_j < y_i < y_k`` within
      ``window``, ``alpha = (y_k - y_i) / (y_k - y_j)``, label ``y_i``.

    With ``mu_im = <z_i, m> / tau``, ``P(i)`` = same-label rows ``j != i`` plus positive mixtures and
    ``A(i)`` = all rows ``j != i`` plus all mixtures of ``i``::

        w(i, a) = |y_i - y_a| + 1                 (distance magnifying; 1 on every positive)
        L_i = -(1/|P(i)|) sum_{p in P(i)} [ l_ip - log sum_{a in A(i)} w(i, a) exp(l_ia) ]

    i.e. :func:`info_nce_rows` on the logits ``l + log w`` (the weight is 1 on positives, so their
    logits are unchanged). Mean over anchors with a positive. With both mixture kinds off and
    ``use_weight=False`` this is SupCon on the stacked views. Defaults ``tau = 0.3`` (IMDB-WIKI /
    AgeDB scripts), ``beta = (2, 8)``; ``window`` is in label units (5 years on ages). The exact joint
    softmax is used (the reference code shifts batch and mixture logits by different maxima).
    ``normalize_mixtures`` rescales mixtures to unit norm (off in the reference code).
    """

    citation: ClassVar[str] = "Wu et al. 2023, arXiv:2309.16633, Mixup Your Own Pairs (SupReMix)"
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "window", "beta", "use_weight", "mix_negatives",
                                               "mix_positives", "detach_mixtures", "normalize_mixtures")

    def __init__(
        self,
        temperature: float = 0.3,
        *,
        window: float = 0.05,
        beta: tuple[float, float] = (2.0, 8.0),
        use_weight: bool = True,
        mix_negatives: bool = True,
        mix_positives: bool = True,
        detach_mixtures: bool = True,
        normalize_mixtures: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.window = check_positive_float(window, "window")
        if not isinstance(beta, (tuple, list)) or len(beta) != 2:
            raise TypeError(f"beta: expected a (concentration1, concentration0) pair, got {beta!r}")
        self.beta = (check_positive_float(beta[0], "beta"), check_positive_float(beta[1], "beta"))
        self.use_weight = bool(use_weight)
        self.mix_negatives = bool(mix_negatives)
        self.mix_positives = bool(mix_positives)
        self.detach_mixtures = bool(detach_mixtures)
        self.normalize_mixtures = bool(normalize_mixtures)

    def forward(self, a: Tensor, b: Tensor | None = None, *, labels: Tensor,
                mix_lambda: Tensor | None = None) -> Tensor:
        """``mix_lambda``: optional ``(2N, 2N)`` draws of ``lambda`` in ``[0, 1]`` (else sampled from
        ``Beta``)."""
        check_same_device({"a": a, "b": b, "labels": labels, "mix_lambda": mix_lambda},
                          cpu_ok=("labels", "mix_lambda"))
        check_embeddings(a, "a")
        n = a.shape[0]
        y = check_targets(labels, n)
        if b is not None:
            check_embeddings(b, "b")
            check_same_shape(a, b, "a", "b")
            z, y, views = torch.cat([a, b]), y.repeat(2), 2
        else:
            z, views = a, 1
        dtype = compute_dtype(z)
        z = normalize(z.to(dtype), dim=-1)
        y = y.to(device=z.device, dtype=dtype)
        m = z.shape[0]
        sim = z @ z.T
        msim = z @ z.detach().T if self.detach_mixtures else sim  # <z_i, sg(z_j)>
        eye = torch.eye(m, dtype=torch.bool, device=z.device)
        cols, pos, valid, lab = [sim], [(y[None, :] == y[:, None]) & ~eye], [~eye], [y[None, :].expand(m, m)]
        if self.mix_negatives:
            if mix_lambda is None:
                lam = torch.distributions.Beta(*self.beta).sample((m, m)).to(device=z.device, dtype=dtype)
            else:
                lam = check_mix_lambda(mix_lambda, m).to(device=z.device, dtype=dtype)
            mu = lam * torch.diagonal(msim).unsqueeze(1) + (1 - lam) * msim
            if self.normalize_mixtures:
                mu = mu / self._mix_norm(lam, sim.detach())
            neg_mask = negative_mixture_mask(y)
            cols.append(mu)
            pos.append(torch.zeros_like(neg_mask))
            valid.append(neg_mask)
            lab.append(lam * y[:, None] + (1 - lam) * y[None, :])
        if self.mix_positives:
            mask, alpha = positive_mixture_mask(y, self.window)
            mu = alpha * msim.unsqueeze(2) + (1 - alpha) * msim.unsqueeze(1)  # (i, j, k)
            if self.normalize_mixtures:
                mu = mu / self._mix_norm(alpha, sim.detach().unsqueeze(0))
            cols.append(mu.reshape(m, m * m))
            pos.append(mask.reshape(m, m * m))
            valid.append(mask.reshape(m, m * m))
            lab.append(y[:, None].expand(m, m * m))
        logits = torch.cat(cols, 1) / self.temperature
        positive = torch.cat(pos, 1)
        ok = torch.cat(valid, 1)
        if self.use_weight:
            weight = (y[:, None] - torch.cat(lab, 1)).abs() + 1
            logits = logits + torch.log(weight).masked_fill(~ok, 0)
        rows, has_positive = info_nce_rows(logits, positive.to(dtype), ok)
        sample = torch.arange(n, device=z.device).repeat(views)
        per_sample, counted = per_sample_mean([rows], [has_positive], [sample], n)
        return self.reduce(per_sample, counted)

    @staticmethod
    def _mix_norm(w: Tensor, s: Tensor) -> Tensor:
        """``|w u + (1 - w) v|`` for unit ``u``, ``v`` with cosine ``s``."""
        return torch.sqrt((w * w + (1 - w) ** 2 + 2 * w * (1 - w) * s).clamp_min(1e-12))


def beta_preset(option: int) -> tuple[float, float]:
    """Beta parameters of the reference code's ``--beta`` option (its help text says 0 -> Beta(5, 5);
    the code maps 0 -> (2, 8), 1 -> (8, 2), 2 -> (5, 5))."""
    if option not in BETA_PRESETS:
        raise ValueError(f"option: expected one of {sorted(BETA_PRESETS)}, got {option!r}")
    return BETA_PRESETS[option]


__all__ = ["BETA_PRESETS", "SupReMix", "beta_preset", "negative_mixture_mask", "positive_mixture_mask"]
