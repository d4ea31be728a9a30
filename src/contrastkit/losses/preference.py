"""Direct preference optimisation (DPO) as a contrastive preference loss between a chosen and a rejected output.

BEAT's Contrastive Trigger Learning (CTL) is this loss on pairs built from one context observed with and
without a trigger: with the trigger the backdoor action is chosen over the benign one, without it the
benign action is chosen over the backdoor one, both against a frozen reference (the SFT policy).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from contrastkit._validation import check_non_negative_float, check_positive_float, compute_dtype
from contrastkit.losses.base import ContrastiveLoss


def _check_logps(value: object, name: str, n: int | None) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected a tensor of log-probabilities, got {type(value).__name__}")
    if value.dim() != 1:
        raise ValueError(f"{name}: expected shape (N,) (one log-probability per pair), got {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got {value.dtype}")
    if n is not None and value.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows like policy_chosen, got {value.shape[0]}")
    if value.numel() and bool((value.detach() > 1e-4).any()):
        raise ValueError(f"{name}: expected log-probabilities (<= 0), got a maximum of {float(value.max()):.4g}")
    return value


class DPO(ContrastiveLoss):
    """``-log sigma(beta * [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))])``.

    Source: Rafailov et al., "Direct Preference Optimization", NeurIPS 2023, eq. 7; used as Contrastive
    Trigger Learning by BEAT (visual backdoors on embodied agents, arXiv 2025, stage 2: trigger-present /
    trigger-free observations of the same context, reference = the frozen SFT policy).

    Call: ``loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected)``, each of shape
    ``(N,)``: the (summed) log-probability of the chosen / rejected output under the trained policy and the
    frozen reference (pass the reference values detached). With ``policy == reference`` every pair costs
    exactly ``log 2``. Computed with ``logsigmoid`` (stable for large margins) in at least float32.

    Args:
        beta: inverse temperature of the implicit reward (> 0; DPO's default 0.1).
        sft_weight: weight of an added NLL term ``-log pi(y_w|x)`` on the chosen output (>= 0; 0 = pure DPO).
        reduction: ``mean`` | ``sum`` | ``none`` (one value per pair).

    Raises:
        ValueError / TypeError naming the argument: not a 1-D float tensor, lengths that differ, positive
        log-probabilities, ``beta <= 0``, ``sft_weight < 0``.
    """

    citation = "Rafailov et al., Direct Preference Optimization, NeurIPS 2023 (CTL of BEAT, 2025)"
    _config_keys = ("beta", "sft_weight")

    def __init__(self, beta: float = 0.1, sft_weight: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.beta = check_positive_float(beta, "beta")
        self.sft_weight = check_non_negative_float(sft_weight, "sft_weight")

    def forward(self, policy_chosen: Tensor, policy_rejected: Tensor, reference_chosen: Tensor,
                reference_rejected: Tensor) -> Tensor:
        pc = _check_logps(policy_chosen, "policy_chosen", None)
        n = pc.shape[0]
        pr = _check_logps(policy_rejected, "policy_rejected", n)
        rc = _check_logps(reference_chosen, "reference_chosen", n)
        rr = _check_logps(reference_rejected, "reference_rejected", n)
        dtype = compute_dtype(pc, pr, rc, rr)
        pc, pr, rc, rr = (t.to(dtype) for t in (pc, pr, rc, rr))
        margin = (pc - rc) - (pr - rr)
        per_pair = -F.logsigmoid(self.beta * margin)
        if self.sft_weight:
            per_pair = per_pair - self.sft_weight * pc
        return self.reduce(per_pair.to(policy_chosen.dtype))

    def reward_accuracy(self, policy_chosen: Tensor, policy_rejected: Tensor, reference_chosen: Tensor,
                        reference_rejected: Tensor) -> float:
        """Share of pairs whose implicit reward prefers the chosen output (margin > 0)."""
        margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
        return float((margin > 0).float().mean())
