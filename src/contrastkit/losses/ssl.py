"""Non-contrastive self-supervised terms as reusable loss parts (any method can add them).

Fini et al. (TMLR 2023, "Improved baselines for vision-language pre-training") add these to CLIP's
loss between the two modalities (SiamLIP, BYOLIP, BarLIP, SwALIP); SLIP adds SimCLR in-modal
(that one is :class:`contrastkit.losses.InfoNCE` on two image views, no new code). Each term here
follows the ``loss(a, b)`` convention on two ``(N, d)`` batches of paired embeddings.

Batch-statistics losses (Barlow Twins, VICReg, SwAV) are one number per batch: ``reduction``
``"mean"`` and ``"sum"`` return it, ``"none"`` is refused (their ``reductions`` say so).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit._validation import (
    check_choice,
    check_embeddings,
    check_positive_float,
    check_same_device,
    check_same_shape,
    compute_dtype,
)
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss


def _pair(a: Tensor, b: Tensor, *, min_rows: int = 1) -> tuple[Tensor, Tensor]:
    check_same_device({"a": a, "b": b})
    check_embeddings(a, "a")
    check_embeddings(b, "b")
    check_same_shape(a, b, "a", "b")
    if a.shape[0] < min_rows:
        raise ValueError(f"a: this loss uses batch statistics and needs at least {min_rows} rows, "
                         f"got {a.shape[0]}")
    dtype = compute_dtype(a, b)
    return a.to(dtype), b.to(dtype)


class _BatchLoss(ContrastiveLoss):
    """A loss that is one value per batch: ``mean`` and ``sum`` return it, ``none`` is refused."""

    reductions: ClassVar[tuple[str, ...]] = ("mean", "sum")


def _off_diagonal(m: Tensor) -> Tensor:
    return m.masked_fill(torch.eye(m.shape[0], dtype=torch.bool, device=m.device), 0)


class BarlowTwins(_BatchLoss):
    """Barlow Twins redundancy reduction (Zbontar et al., ICML 2021); BarLIP's term (Fini et al. 2023).

    With ``a``, ``b`` standardised per dimension over the batch (zero mean, unit biased std, as a
    non-affine BatchNorm) and ``C = a^T b / N`` (``d x d``)::

        L = scale * [ sum_i (1 - C_ii)^2 + lambda_offdiag * sum_{i != j} C_ij^2 ]

    Defaults ``lambda_offdiag = 5e-3`` (paper); BarLIP uses ``scale = 0.025``.
    """

    citation: ClassVar[str] = "Zbontar et al. 2021, ICML, Barlow Twins"
    _config_keys: ClassVar[tuple[str, ...]] = ("lambda_offdiag", "scale", "eps")

    def __init__(self, lambda_offdiag: float = 5e-3, *, scale: float = 1.0, eps: float = 1e-5,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.lambda_offdiag = check_positive_float(lambda_offdiag, "lambda_offdiag")
        self.scale = check_positive_float(scale, "scale")
        self.eps = check_positive_float(eps, "eps")

    part_names: ClassVar[tuple[str, ...]] = ("on_diagonal", "off_diagonal")

    def parts(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        """The unweighted terms ``sum_i (1 - C_ii)^2`` and ``sum_{i != j} C_ij^2``."""
        a, b = _pair(a, b, min_rows=2)
        n = a.shape[0]
        za = (a - a.mean(0)) / torch.sqrt(a.var(0, unbiased=False) + self.eps)
        zb = (b - b.mean(0)) / torch.sqrt(b.var(0, unbiased=False) + self.eps)
        c = za.T @ zb / n
        return {"on_diagonal": (1 - torch.diagonal(c)).pow(2).sum(), "off_diagonal": _off_diagonal(c).pow(2).sum()}

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        p = self.parts(a, b)
        return self.scale * (p["on_diagonal"] + self.lambda_offdiag * p["off_diagonal"])


class NegativeCosine(ContrastiveLoss):
    """Predictor-to-target cosine loss of SimSiam (Chen & He, CVPR 2021) and BYOL (Grill et al.,
    NeurIPS 2020); SiamLIP / BYOLIP's term (Fini et al. 2023).

    ``a = p`` predictions, ``b = v`` targets (stop-gradient when ``stop_gradient``)::

        form="byol":    L_i = 2 - 2 cos(p_i, sg(v_i))
        form="simsiam": L_i = -cos(p_i, sg(v_i))

    Symmetrise by calling it twice with the roles swapped.
    """

    citation: ClassVar[str] = "Chen & He 2021, CVPR (SimSiam); Grill et al. 2020, NeurIPS (BYOL)"
    _config_keys: ClassVar[tuple[str, ...]] = ("form", "stop_gradient")

    def __init__(self, *, form: str = "byol", stop_gradient: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.form = check_choice(form, "form", ("byol", "simsiam"))
        self.stop_gradient = bool(stop_gradient)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        p, v = _pair(a, b)
        if self.stop_gradient:
            v = v.detach()
        cos = (normalize(p, dim=-1) * normalize(v, dim=-1)).sum(-1)
        return self.reduce(2 - 2 * cos if self.form == "byol" else -cos)


class VICReg(_BatchLoss):
    """Variance-invariance-covariance regularisation (Bardes, Ponce & LeCun, ICLR 2022), Eq. 6::

        s(Z, Z') = mean_i |z_i - z'_i|^2 / d                      (invariance, MSE)
        v(Z)     = (1/d) sum_j max(0, gamma - sqrt(Var(z^j) + eps))  (unbiased variance)
        c(Z)     = (1/d) sum_{i != j} Cov(Z)_ij^2
        L = sim_weight * s + var_weight * [v(Z) + v(Z')] + cov_weight * [c(Z) + c(Z')]

    Defaults ``25, 25, 1``, ``gamma = 1``, ``eps = 1e-4`` (paper). The official code halves the
    variance term; the paper's formula is used here.
    """

    citation: ClassVar[str] = "Bardes, Ponce & LeCun 2022, ICLR, VICReg"
    _config_keys: ClassVar[tuple[str, ...]] = ("sim_weight", "var_weight", "cov_weight", "gamma", "eps")

    def __init__(self, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0, *,
                 gamma: float = 1.0, eps: float = 1e-4, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.sim_weight = check_positive_float(sim_weight, "sim_weight")
        self.var_weight = check_positive_float(var_weight, "var_weight")
        self.cov_weight = check_positive_float(cov_weight, "cov_weight")
        self.gamma = check_positive_float(gamma, "gamma")
        self.eps = check_positive_float(eps, "eps")

    def _var_cov(self, z: Tensor) -> tuple[Tensor, Tensor]:
        n, d = z.shape
        z = z - z.mean(0)
        std = torch.sqrt(z.var(0) + self.eps)
        var = F.relu(self.gamma - std).mean()
        cov = z.T @ z / (n - 1)
        return var, _off_diagonal(cov).pow(2).sum() / d

    part_names: ClassVar[tuple[str, ...]] = ("invariance", "variance", "covariance")

    def parts(self, a: Tensor, b: Tensor) -> dict[str, Tensor]:
        """The unweighted terms ``s(Z, Z')``, ``v(Z) + v(Z')`` and ``c(Z) + c(Z')``."""
        a, b = _pair(a, b, min_rows=2)
        va, ca = self._var_cov(a)
        vb, cb = self._var_cov(b)
        return {"invariance": F.mse_loss(a, b), "variance": va + vb, "covariance": ca + cb}

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        p = self.parts(a, b)
        return self.sim_weight * p["invariance"] + self.var_weight * p["variance"] + self.cov_weight * p["covariance"]


def sinkhorn(scores: Tensor, *, epsilon: float = 0.05, iterations: int = 3) -> Tensor:
    """SwAV's Sinkhorn-Knopp equipartition (Caron et al., NeurIPS 2020), in the log domain.

    ``scores`` ``(B, K)`` (sample-prototype similarities) -> assignments ``Q`` ``(B, K)`` with
    ``Q ∝ exp(scores / epsilon)`` alternately rescaled so that every prototype holds mass ``B / K``
    and every sample's row sums to 1; the row step is applied last, so rows sum to 1 exactly and
    the prototype masses approach ``B / K`` as the iterations grow. No gradient.
    """
    check_embeddings(scores, "scores")
    check_positive_float(epsilon, "epsilon")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations: expected an integer >= 1, got {iterations!r}")
    with torch.no_grad():
        b, k = scores.shape
        log_q = scores.to(compute_dtype(scores)) / epsilon
        log_q = log_q - torch.logsumexp(log_q.flatten(), 0)
        for _ in range(iterations):
            log_q = log_q - torch.logsumexp(log_q, 0, keepdim=True) - math.log(k)   # prototype mass 1/K
            log_q = log_q - torch.logsumexp(log_q, 1, keepdim=True) - math.log(b)   # sample mass 1/B
        return torch.exp(log_q) * b


class SwAV(_BatchLoss):
    """Swapped prediction (Caron et al., NeurIPS 2020, SwAV); SwALIP's term (Fini et al. 2023).

    ``a``, ``b``: ``(B, K)`` scores of two views (or two modalities) against shared prototypes
    (cosine similarities; the prototypes belong to the model, never to the loss)::

        q_a = sinkhorn(a), q_b = sinkhorn(b)                    (no gradient)
        L = -(1/2B) sum_i [ <q_b,i, log softmax(a_i / tau)> + <q_a,i, log softmax(b_i / tau)> ]

    Defaults ``tau = 0.1``, ``epsilon = 0.05``, 3 iterations (paper); SwALIP weights it by 0.2.
    """

    citation: ClassVar[str] = "Caron et al. 2020, NeurIPS, SwAV"
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "epsilon", "iterations")

    def __init__(self, temperature: float = 0.1, *, epsilon: float = 0.05, iterations: int = 3,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.epsilon = check_positive_float(epsilon, "epsilon")
        self.iterations = iterations

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = _pair(a, b)
        qa = sinkhorn(a, epsilon=self.epsilon, iterations=self.iterations)
        qb = sinkhorn(b, epsilon=self.epsilon, iterations=self.iterations)
        la = torch.log_softmax(a / self.temperature, dim=1)
        lb = torch.log_softmax(b / self.temperature, dim=1)
        return -0.5 * ((qb * la).sum(1) + (qa * lb).sum(1)).mean()


__all__ = ["BarlowTwins", "NegativeCosine", "SwAV", "VICReg", "sinkhorn"]
