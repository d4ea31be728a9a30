"""SepCLR: separating common from salient patterns in contrastive analysis (Louiset et al., ICLR 2024).

Built from scale-safe squared distances (:func:`contrastkit.functional.similarity.sq_distances`)
and max-shifted log-sum-exp: the alignment / uniformity terms of Wang & Isola (ICML 2020, defined
once in :mod:`contrastkit.functional.geometry` and shared with the evaluation metrics), the
"s'-uniformity" and information-less terms on the salient space, and the k-JEM joint-entropy term
that reduces the mutual information between the common and salient spaces.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_embeddings,
    check_finite_result,
    check_non_negative_float,
    check_positive_float,
    check_same_device,
    check_same_shape,
    compute_dtype,
)
from contrastkit.functional.geometry import alignment_term, uniformity_term
from contrastkit.functional.similarity import normalize, sq_distances
from contrastkit.losses.base import ContrastiveLoss


def align(x: Tensor, y: Tensor, *, tau: float = 0.5) -> Tensor:
    """``align(x, y) = mean_i |x_i - y_i|^2 / (2 tau)`` (0 for an empty batch): Wang & Isola's
    alignment (:func:`~contrastkit.functional.geometry.alignment_term`, ``alpha = 2``) over ``2 tau``."""
    return alignment_term(x, y, alpha=2) / (2 * tau)


def unif(x: Tensor, *, tau: float = 0.5) -> Tensor:
    """``unif(x) = log mean_{i<j} exp(-|x_i - x_j|^2 / (2 tau))`` over the ``n(n-1)/2`` pairs: Wang &
    Isola's uniformity (:func:`~contrastkit.functional.geometry.uniformity_term`) with ``t = 1 / (2 tau)``."""
    return uniformity_term(x, t=1 / (2 * tau))


def jem(c: Tensor, s: Tensor, *, tau: float = 0.5) -> Tensor:
    """k-JEM: ``mean_i log mean_j exp(-|c_i - c_j|^2 / 2tau) exp(-|s_i - s_j|^2 / 2tau)``, j over all
    rows including ``i``: a kernel estimate of minus the joint entropy of ``(c, s)``."""
    n = c.shape[0]
    logk = -(sq_distances(c, c) + sq_distances(s, s)) / (2 * tau)
    return (torch.logsumexp(logk, 1) - math.log(n)).mean()


class SepCLR(ContrastiveLoss):
    """SepCLR objective (Louiset et al., ICLR 2024, "Separating common from salient patterns with
    contrastive representation learning"), as in the official code (two augmented views 1, 2).

    ``c`` common-head outputs (L2-normalised here: ``ĉ``), ``s`` salient-head outputs (not
    normalised), ``is_target`` marks target-dataset rows; ``s̃`` is ``s`` with background rows
    replaced by the null vector ``s' = 0``::

        L_common  = align(ĉ1, ĉ2) + unif(ĉ1) + unif(ĉ2)
        L_salient = align(s1[T], s2[T]) + unif(s̃1) + unif(s̃2)          (s'-uniformity)
        L_reg     = ½ [align(s̃1[B], s1[B]) + align(s̃2[B], s2[B])]        (information-less background)
        L_JEM     = ½ [jem(ĉ1, s̃1) + jem(ĉ2, s̃2)]                        (k-JEM: lower I(c; s))
        L = L_common + beta_salient L_salient + beta_reg L_reg + lambda_jem L_JEM

    ``align`` uses ``tau_a = 0.5``, ``unif`` and ``jem`` ``tau = 0.5`` (``tau_u``). Paper defaults
    (CIFAR-MNIST) ``beta_salient = beta_reg = 1000``, ``lambda_jem = 10``. Call
    ``loss(c1, c2, s1, s2, is_target=mask)``; :meth:`parts` returns the four terms.
    """

    citation: ClassVar[str] = ("Louiset et al. 2024, ICLR, Separating common from salient patterns with "
                               "contrastive representation learning")
    _config_keys: ClassVar[tuple[str, ...]] = ("beta_salient", "beta_reg", "lambda_jem", "tau_align", "tau_unif")
    reductions: ClassVar[tuple[str, ...]] = ("mean", "sum")
    part_names: ClassVar[tuple[str, ...]] = ("common", "salient", "reg", "jem")

    def __init__(self, beta_salient: float = 1000.0, beta_reg: float = 1000.0, lambda_jem: float = 10.0, *,
                 tau_align: float = 0.5, tau_unif: float = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction)  # one value per batch (uniformity terms): no "none"
        self.beta_salient = check_non_negative_float(beta_salient, "beta_salient")
        self.beta_reg = check_non_negative_float(beta_reg, "beta_reg")
        self.lambda_jem = check_non_negative_float(lambda_jem, "lambda_jem")
        self.tau_align = check_positive_float(tau_align, "tau_align")
        self.tau_unif = check_positive_float(tau_unif, "tau_unif")

    def parts(self, c1: Tensor, c2: Tensor, s1: Tensor, s2: Tensor, *, is_target: Tensor) -> dict[str, Tensor]:
        """The four terms ``common``, ``salient``, ``reg``, ``jem`` (before weighting).

        Raises ``ValueError`` naming the input when a term is not finite (e.g. salient outputs so
        large that their squared distances exceed the float range)."""
        check_same_device({"c1": c1, "c2": c2, "s1": s1, "s2": s2, "is_target": is_target}, cpu_ok=("is_target",))
        for name, x in (("c1", c1), ("c2", c2), ("s1", s1), ("s2", s2)):
            check_embeddings(x, name)
        check_same_shape(c1, c2, "c1", "c2")
        check_same_shape(s1, s2, "s1", "s2")
        n = c1.shape[0]
        if s1.shape[0] != n:
            raise ValueError(f"s1: expected {n} rows (as c1), got {s1.shape[0]}")
        if not isinstance(is_target, Tensor) or is_target.dtype != torch.bool or is_target.shape != (n,):
            raise ValueError(f"is_target: expected a bool tensor of shape ({n},)")
        dtype = compute_dtype(c1, s1)
        c1, c2 = normalize(c1.to(dtype), dim=-1), normalize(c2.to(dtype), dim=-1)
        s1, s2 = s1.to(dtype), s2.to(dtype)
        t = is_target.to(s1.device)
        keep = t.unsqueeze(1).to(dtype)
        st1, st2 = s1 * keep, s2 * keep  # background rows -> s' = 0 (no gradient through them)
        ta, tu = self.tau_align, self.tau_unif
        common = align(c1, c2, tau=ta) + unif(c1, tau=tu) + unif(c2, tau=tu)
        salient = align(s1[t], s2[t], tau=ta) + unif(st1, tau=tu) + unif(st2, tau=tu)
        reg = 0.5 * (align(st1[~t], s1[~t], tau=ta) + align(st2[~t], s2[~t], tau=ta))
        joint = 0.5 * (jem(c1, st1, tau=tu) + jem(c2, st2, tau=tu))
        parts = {"common": common, "salient": salient, "reg": reg, "jem": joint}
        inputs = {"c1": c1, "c2": c2, "s1": s1, "s2": s2}
        hint = "the salient outputs s1, s2 are too large for the float range; scale them down"
        for value in parts.values():
            check_finite_result(value, inputs, hint=hint)
        return parts

    def forward(self, c1: Tensor, c2: Tensor, s1: Tensor, s2: Tensor, *, is_target: Tensor) -> Tensor:
        p = self.parts(c1, c2, s1, s2, is_target=is_target)
        return p["common"] + self.beta_salient * p["salient"] + self.beta_reg * p["reg"] + self.lambda_jem * p["jem"]


__all__ = ["SepCLR", "align", "jem", "unif"]
