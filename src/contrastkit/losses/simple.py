"""Wang & Liu's non-hardness-aware contrastive loss and its explicit hard-negative variant."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from contrastkit._validation import check_positive_float, compute_dtype
from contrastkit.functional.problem import build_problem
from contrastkit.functional.similarity import get_similarity
from contrastkit.losses.base import ContrastiveLoss, per_sample_mean
from contrastkit.mining.hard_negatives import hardest_negatives_mask


class SimpleContrastive(ContrastiveLoss):
    """The non-hardness-aware loss of Wang & Liu (CVPR 2021):
    ``L_simple,i = -s_ii + lambda * sum_{k in N(i)} s_ik`` with cosine ``s``.

    ``N(i)`` is every negative, or with ``top_k`` / ``fraction`` only the hardest ones
    (``L_hard-simple``), which is what makes the simple loss competitive in the paper.
    Two-view call ``loss(z1, z2)`` (2N anchors, as NT-Xent).
    """

    citation: ClassVar[str] = "Wang & Liu 2021, CVPR, Understanding the Behaviour of Contrastive Loss"
    _config_keys: ClassVar[tuple[str, ...]] = ("lam", "top_k", "fraction")

    def __init__(
        self,
        lam: float = 1.0,
        *,
        top_k: int | None = None,
        fraction: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.lam = check_positive_float(lam, "lam")
        if top_k is not None and fraction is not None:
            raise ValueError("top_k, fraction: give at most one of them")
        self.top_k = top_k
        self.fraction = fraction

    def forward(self, a: Tensor, b: Tensor | None = None, *, labels: Tensor | None = None) -> Tensor:
        problem = build_problem(a, b, mode="two_view", labels=labels)
        (direction,) = problem.directions
        sim = get_similarity("cosine")
        s = sim(direction.anchors, direction.candidates).to(compute_dtype(a))
        weight, valid = direction.positives.dense(s.dtype)
        positive = weight > 0
        negative = valid & ~positive
        if self.top_k is not None or self.fraction is not None:
            negative = hardest_negatives_mask(s, negative, top_k=self.top_k, fraction=self.fraction)
        pos_mean = (weight * s).sum(1) / weight.sum(1).clamp_min(1e-12)
        rows = -pos_mean + self.lam * (s * negative).sum(1)
        per_sample, counted = per_sample_mean([rows], [positive.any(1)], [direction.sample],
                                              problem.num_samples)
        return self.reduce(per_sample, counted)
