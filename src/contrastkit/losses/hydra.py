"""Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate (arXiv 2410.18200).

A composition of the parts: a *gated* cosine similarity (each anchor sees every candidate through its
own feature gate), positives by partner label, the anchor's own class left out of the negatives, and
a per-positive log-sum-exp form.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit._validation import (
    check_choice,
    check_embeddings,
    check_labels,
    check_positive_float,
    check_same_device,
    compute_dtype,
)
from contrastkit.functional.forms import lse_rows
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss

PAIR_MODES = ("identical", "arbitrary", "distinct")


def sample_partner_labels(labels: Tensor, mode: str = "arbitrary", *, num_classes: int | None = None,
                          generator: torch.Generator | None = None) -> Tensor:
    """Partner class ``y2_i`` of each anchor (Hydra's pair sampling).

    ``identical``: ``y2 = y``; ``arbitrary``: ``y2 = y[randperm(B)]`` (the partner is the label of a
    random batch row, so it may equal ``y``); ``distinct``: a uniformly random class ``!= y_i`` out of
    ``num_classes``.
    """
    labels = check_labels(labels, labels.shape[0] if isinstance(labels, Tensor) else -1)
    mode = check_choice(mode, "mode", PAIR_MODES)
    if mode == "identical":
        return labels.clone()
    if mode == "arbitrary":
        perm = torch.randperm(labels.shape[0], generator=generator, device="cpu").to(labels.device)
        return labels[perm]
    if num_classes is None or num_classes < 2:
        raise ValueError(f"num_classes: 'distinct' pairs need num_classes >= 2, got {num_classes!r}")
    shift = torch.randint(1, num_classes, labels.shape, generator=generator, device="cpu").to(labels.device)
    return (labels + shift) % num_classes


def hydra_masks(labels: Tensor, partner_labels: Tensor) -> tuple[Tensor, Tensor]:
    """``(positive, negative)`` ``(B, B)`` masks: ``pos_ij = [y_j == y2_i]`` (self included when
    ``y2_i = y_i``), ``neg_ij = not(y_j == y_i or y_j == y2_i)``."""
    pos = labels.unsqueeze(0) == partner_labels.unsqueeze(1)
    neg = ~((labels.unsqueeze(0) == labels.unsqueeze(1)) | pos)
    return pos, neg


class Hydra(ContrastiveLoss):
    """Hydra / SimLAP loss (arXiv 2410.18200, "Rethinking Positive Pairs in Contrastive Learning").

    One view per sample, labels ``y``, partner labels ``y2`` (:func:`sample_partner_labels`) and a
    gate ``g_i = g(y_i, y2_i) in (0, 1)^d`` per anchor (from the model's pair gate; ``None`` = no
    gate, i.e. SupCon-style positives of the partner class)::

        u_i = normalize(g_i * z_i),  v_ij = normalize(g_i * z_j),  l_ij = <u_i, v_ij> / tau
        P(i) = {j : y_j = y2_i},     N(i) = {j : y_j != y_i and y_j != y2_i}
        L = sum_i sum_{j in P(i)} [ log(exp(l_ij) + sum_{k in N(i)} exp(l_ik)) - l_ij ] / sum_i |P(i)|

    Each positive term is ``softplus(lse_{k in N(i)} l_ik - l_ij)`` (a positive with no negative costs
    0). Rows are mean-centred before the log-sum-exp (``center=True``, numerical only: the loss is
    invariant to a per-row shift). Default ``tau = 0.1``. Memory ``O(B^2 d)`` (one gated copy of the
    batch per anchor). ``reduction``: ``mean`` over positive pairs (as the reference code), ``sum``, or
    ``none`` for per-anchor sums over its positives.
    """

    citation: ClassVar[str] = "arXiv 2410.18200 (2024), Rethinking Positive Pairs in Contrastive Learning (Hydra)"
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "center")

    def __init__(self, temperature: float = 0.1, *, center: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.center = bool(center)

    def logits(self, z: Tensor, gates: Tensor | None) -> Tensor:
        """``(B, B)`` gated cosine logits ``l_ij`` (anchor ``i``'s gate on both sides)."""
        z = z.to(compute_dtype(z))
        if gates is None:
            zn = normalize(z, dim=-1)
            return zn @ zn.T / self.temperature
        gated = normalize(gates.to(z.dtype).unsqueeze(1) * z.unsqueeze(0), dim=-1)  # (A, C, d)
        anchors = torch.diagonal(gated, dim1=0, dim2=1).T                               # u_i = v_ii
        return (anchors.unsqueeze(1) * gated).sum(-1) / self.temperature

    def forward(self, z: Tensor, *, labels: Tensor, partner_labels: Tensor,
                gates: Tensor | None = None) -> Tensor:
        check_same_device({"z": z, "labels": labels, "partner_labels": partner_labels, "gates": gates},
                          cpu_ok=("labels", "partner_labels"))
        check_embeddings(z, "z")
        n = z.shape[0]
        labels = check_labels(labels, n).to(z.device)
        partner_labels = check_labels(partner_labels, n, "partner_labels").to(z.device)
        if gates is not None:
            check_embeddings(gates, "gates")
            if gates.shape != z.shape:
                raise ValueError(f"gates: expected shape {tuple(z.shape)} (one gate per anchor), "
                                 f"got {tuple(gates.shape)}")
        logits = self.logits(z, gates)
        if self.center:
            logits = logits - logits.mean(1, keepdim=True).detach()
        pos, neg = hydra_masks(labels, partner_labels)
        has_neg = neg.any(1, keepdim=True)
        # A row without negatives gets a harmless finite denominator; its terms are zeroed below.
        safe = torch.where(has_neg, logits, torch.zeros_like(logits))
        lse_neg = lse_rows(safe, neg | ~has_neg)
        terms = F.softplus(lse_neg.unsqueeze(1) - logits)
        terms = torch.where(pos & has_neg, terms, torch.zeros_like(terms))
        per_anchor = terms.sum(1)
        if self.reduction == "none":
            return per_anchor
        if self.reduction == "sum":
            return per_anchor.sum()
        return per_anchor.sum() / pos.sum().clamp_min(1)


__all__ = ["PAIR_MODES", "Hydra", "hydra_masks", "sample_partner_labels"]
