"""CWCL: continuously weighted contrastive loss (Srinivasa et al., NeurIPS 2023).

A composition of the core parts: cosine similarity, *soft* positives taken from a frozen
tower's intra-modal similarities, uniform weighting, and the InfoNCE (softmax cross-entropy) form.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_choice,
    check_embeddings,
    check_positive_float,
    check_same_device,
    check_same_shape,
)
from contrastkit.functional.positives import check_soft_weights
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE

REVERSE_OPTIONS = ("infonce", "weighted", "none")


def cwcl_weights(frozen: Tensor, *, sharpen: float | None = None) -> Tensor:
    """Soft positive weights from a frozen tower: ``w_ij = (cos(u_i, u_j) + 1) / 2`` in ``[0, 1]``.

    ``w_ii = 1`` (and 1 for identical inputs). With ``sharpen = T_w`` the weights are
    ``exp((cos(u_i, u_j) - 1) / T_w)`` instead: an optional probe (used by third-party
    re-implementations) for anisotropic towers whose cosines crowd into a narrow band, where the
    paper's affine map gives nearly flat targets. Computed in float32 (float64 kept) without
    gradient: the targets are constants of the loss.
    """
    check_embeddings(frozen, "frozen")
    with torch.no_grad():
        u = frozen.float() if frozen.dtype in (torch.float16, torch.bfloat16) else frozen
        u = normalize(u, dim=-1)
        cos = (u @ u.T).clamp(-1.0, 1.0)
        if sharpen is None:
            return (cos + 1) / 2
        return torch.exp((cos - 1) / check_positive_float(sharpen, "sharpen"))


class CWCL(ContrastiveLoss):
    """Continuously weighted contrastive loss (Srinivasa et al., NeurIPS 2023, "CWCL: Cross-Modal
    Transfer with Continuously Weighted Contrastive Loss").

    ``a = p`` are embeddings of the modality ``U`` that has a pretrained frozen tower (its output, or a
    trainable head on it), ``b = q`` embeddings of the modality ``V`` being trained, both ``(N, d)``,
    cosine similarity. With ``w_ij`` from :func:`cwcl_weights` on the frozen ``U`` embeddings::

        L_{U->V} = -(1/N) sum_i (1 / sum_j w_ij) sum_j w_ij log softmax_j(<p_i, q_j> / tau)
        L        = L_{U->V} + L_{V->U}

    ``L_{U->V}`` is exactly :class:`InfoNCE` (``mode="a_to_b"``) with soft positive weights ``W``
    (the multi-positive form normalises each row by ``sum_j w_ij``). For ``L_{V->U}`` the paper's
    reverse direction is read, as in its third-party re-implementations, as the standard one-hot
    InfoNCE (``reverse="infonce"``, default); ``reverse="weighted"`` uses ``W^T`` there too,
    ``reverse="none"`` drops it. ``W = I`` gives back CLIP's loss (times 2: the directions are summed,
    as in the paper's formula). ``tau`` may be passed per call as a learnable scalar tensor.

    Call: ``loss(p, q, frozen=u)`` with ``u`` the frozen tower's ``(N, d_u)`` embeddings of the same
    ``U`` inputs, or ``loss(p, q, weights=W)`` with precomputed ``(N, N)`` weights.
    """

    citation: ClassVar[str] = (
        "Srinivasa et al. 2023, NeurIPS, CWCL: Cross-Modal Transfer with Continuously Weighted "
        "Contrastive Loss"
    )
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "reverse", "sharpen")
    part_names: ClassVar[tuple[str, ...]] = ("u_to_v", "v_to_u")

    def __init__(
        self,
        temperature: float = 0.07,
        *,
        reverse: str = "infonce",
        sharpen: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.reverse = check_choice(reverse, "reverse", REVERSE_OPTIONS)
        self.sharpen = None if sharpen is None else check_positive_float(sharpen, "sharpen")
        self._direction = InfoNCE(self.temperature, mode="a_to_b", reduction=reduction)

    def forward(
        self,
        a: Tensor,
        b: Tensor,
        *,
        frozen: Tensor | None = None,
        weights: Tensor | None = None,
        temperature: Tensor | float | None = None,
    ) -> Tensor:
        """Loss of ``U``-side ``a`` against ``V``-side ``b``; targets from ``frozen`` or ``weights``."""
        check_same_device({"a": a, "b": b, "frozen": frozen, "weights": weights, "temperature": temperature},
                          cpu_ok=("temperature",))
        check_embeddings(a, "a")
        if b is None:  # without b the InfoNCE direction would silently score a against itself
            raise ValueError("b: CWCL needs the V-side embeddings b (N, d) of the same pairs as a")
        check_embeddings(b, "b", finite=False)  # the direction checks its result
        check_same_shape(a, b, "a", "b")
        n = a.shape[0]
        if (frozen is None) == (weights is None):
            raise ValueError("frozen, weights: give exactly one (frozen-tower embeddings or an (N, N) "
                             "weight matrix)")
        if frozen is not None:
            check_embeddings(frozen, "frozen")
            if frozen.shape[0] != n:
                raise ValueError(f"frozen: expected {n} rows (one per row of a), got {frozen.shape[0]}")
            weights = cwcl_weights(frozen, sharpen=self.sharpen)
        else:
            weights = check_soft_weights(weights, (n, n), "weights")
        return sum(self.parts(a, b, weights=weights, temperature=temperature).values())  # type: ignore[return-value]

    def parts(self, a: Tensor, b: Tensor, *, frozen: Tensor | None = None, weights: Tensor | None = None,
              temperature: Tensor | float | None = None) -> dict[str, Tensor]:
        """The two directions ``u_to_v`` and ``v_to_u`` (absent when ``reverse="none"``); they sum to the loss.
        Call with the same arguments as the loss (``forward`` validates them)."""
        if (frozen is None) == (weights is None):
            raise ValueError("frozen, weights: give exactly one (frozen-tower embeddings or an (N, N) weight matrix)")
        if frozen is not None:
            return self.parts(a, b, weights=cwcl_weights(frozen, sharpen=self.sharpen), temperature=temperature)
        parts = {"u_to_v": self._direction(a, b, weights=weights, temperature=temperature)}
        if self.reverse != "none":
            reverse = weights.T if self.reverse == "weighted" and weights is not None else None
            parts["v_to_u"] = self._direction(b, a, weights=reverse, temperature=temperature)
        return parts


__all__ = ["CWCL", "cwcl_weights"]
