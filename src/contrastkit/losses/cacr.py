"""CACR: contrastive attraction and contrastive repulsion (Zheng et al., TMLR 2023)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_embeddings,
    check_finite_result,
    check_positive_float,
    check_same_device,
    compute_dtype,
)
from contrastkit.functional.similarity import normalize, sq_distances
from contrastkit.losses.base import ContrastiveLoss


class CACR(ContrastiveLoss):
    """Contrastive Attraction and Contrastive Repulsion (Zheng et al., "Contrastive Attraction and
    Contrastive Repulsion for Representation Learning", TMLR 2023; small-scale objective).

    With ``M`` views ``z^(v)`` (rows L2-normalised) and cost ``c(a, b) = |a - b|^2``::

        attraction = mean_v mean_i sum_{u != v} w+_{i,u} * alpha * c(z_i^v, z_i^u),
                     w+_{i,.} = softmax_{u != v}( t_pos * c(z_i^v, z_i^u) )      # far positives pull more
        repulsion  = mean_{v < u} mean_i sum_{j != i} w-_{ij} * (-beta) * c(z_i^v, z_j^u),
                     w-_{i,.} = softmax_{j != i}( -t_neg * c(z_i^v, z_j^u) )      # close negatives push more
        L = attraction + repulsion

    The conditional weights keep their gradient, as in the official small-scale code. Defaults
    (CIFAR-10): ``alpha = beta = 1``, ``t_pos = 1.0``, ``t_neg = 0.9``; the paper uses 5 views.

    Call with two views ``loss(z1, z2)`` or with stacked views ``loss(views)``, ``views`` of shape
    ``(M, N, d)``. ``reduction="none"`` returns ``(N,)`` per-sample totals. With ``normalize=False``
    the costs are scale-safe squared distances; inputs whose costs exceed the float range raise a
    ``ValueError`` instead of returning NaN.
    """

    citation: ClassVar[str] = "Zheng et al. 2023, TMLR, Contrastive Attraction and Contrastive Repulsion"
    _config_keys: ClassVar[tuple[str, ...]] = ("alpha", "beta", "t_pos", "t_neg", "normalize")

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 1.0,
        t_pos: float = 1.0,
        t_neg: float = 0.9,
        *,
        normalize: bool = True,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.alpha = check_positive_float(alpha, "alpha")
        self.beta = check_positive_float(beta, "beta")
        self.t_pos = check_positive_float(t_pos, "t_pos")
        self.t_neg = check_positive_float(t_neg, "t_neg")
        self.normalize = normalize

    part_names: ClassVar[tuple[str, ...]] = ("attraction", "repulsion")

    def parts(self, a: Tensor, b: Tensor | None = None) -> dict[str, Tensor]:
        """Attraction and repulsion, each reduced as ``reduction`` (they add up to the loss)."""
        attraction, repulsion = self.terms(self._prepare(a, b))
        return {"attraction": self.reduce(attraction), "repulsion": self.reduce(repulsion)}

    def forward(self, a: Tensor, b: Tensor | None = None) -> Tensor:
        attraction, repulsion = self.terms(self._prepare(a, b))
        per_sample = check_finite_result(
            attraction + repulsion, {"a": a, "b": b},
            hint="the squared distances exceed the float range; use normalize=True or scale the inputs down")
        return self.reduce(per_sample)

    def _prepare(self, a: Tensor, b: Tensor | None) -> Tensor:
        views = self._stack(a, b)
        views = views.to(compute_dtype(views))
        return normalize(views, dim=-1) if self.normalize else views

    def terms(self, views: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample attraction and repulsion ``(N,)`` of prepared ``(M, N, d)`` views."""
        m, n, _ = views.shape
        # (N, M, M) positive costs between the views of each sample.
        pos_cost = sq_distances(views.transpose(0, 1), views.transpose(0, 1))
        off_diag = ~torch.eye(m, dtype=torch.bool, device=views.device)
        logits = (self.t_pos * pos_cost).masked_fill(~off_diag, float("-inf"))
        w_pos = torch.softmax(logits, dim=-1)
        attraction = (w_pos * self.alpha * pos_cost).sum(-1).mean(-1)

        not_self = ~torch.eye(n, dtype=torch.bool, device=views.device)
        repulsion = torch.zeros(n, dtype=views.dtype, device=views.device)
        pairs = [(v, u) for v in range(m) for u in range(v + 1, m)]
        for v, u in pairs:
            cost = sq_distances(views[v], views[u])
            w_neg = torch.softmax((-self.t_neg * cost).masked_fill(~not_self, float("-inf")), dim=1)
            repulsion = repulsion + (w_neg * (-self.beta) * cost).sum(1)
        return attraction, repulsion / len(pairs)

    @staticmethod
    def _stack(a: Tensor, b: Tensor | None) -> Tensor:
        check_same_device({"a": a, "b": b})
        if b is None:
            check_embeddings(a, "a", rank=3)
            if a.shape[0] < 2:
                raise ValueError(f"a: expected at least 2 stacked views, got shape {tuple(a.shape)}")
            views = a
        else:
            check_embeddings(a, "a")
            check_embeddings(b, "b")
            if a.shape != b.shape:
                raise ValueError(f"b: expected the same shape as a {tuple(a.shape)}, got {tuple(b.shape)}")
            views = torch.stack([a, b])
        if views.shape[1] < 2:
            raise ValueError("a: CACR needs at least 2 samples per batch (negatives)")
        return views
