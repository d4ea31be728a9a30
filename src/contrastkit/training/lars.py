"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg, "Large Batch Training of
Convolutional Networks", 2017), as in the SimCLR reference implementation (``lars_optimizer.py``).

For a parameter ``w`` with gradient ``g`` in an adapted group::

    g'    = g + weight_decay * w
    trust = eta * ||w|| / ||g'||      (1 when either norm is 0)
    v     = momentum * v + lr * trust * g'
    w     = w - v

Biases and normalisation parameters are excluded from both weight decay and adaptation (plain SGD
with momentum: ``g' = g``, ``trust = 1``), as SimCLR and BYOL do; :func:`lars_param_groups` makes the
two groups (1-D tensors = biases and norm scales/shifts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


def _check_nonneg(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def lars_param_groups(module: nn.Module | Iterable[tuple[str, nn.Parameter]], weight_decay: float
                      ) -> list[dict[str, Any]]:
    """Two parameter groups: weights (decay + adaptation) and 1-D tensors (biases, norm parameters:
    ``weight_decay=0``, ``lars_exclude=True``). Frozen parameters are left out."""
    named = module.named_parameters() if isinstance(module, nn.Module) else module
    adapted, excluded = [], []
    for _, p in named:
        if p.requires_grad:
            (excluded if p.ndim <= 1 else adapted).append(p)
    groups = [{"params": adapted, "weight_decay": weight_decay, "lars_exclude": False},
              {"params": excluded, "weight_decay": 0.0, "lars_exclude": True}]
    return [g for g in groups if g["params"]]


class LARS(torch.optim.Optimizer):
    """LARS with heavy-ball momentum (see the module docstring for the update).

    Args:
        params: parameters or groups; a group with ``lars_exclude=True`` gets neither weight decay
            nor the trust ratio.
        lr: base learning rate (> 0); momentum in ``[0, 1)``; weight_decay >= 0; eta: trust coefficient
            (SimCLR: 0.001).
    """

    def __init__(self, params: Any, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 eta: float = 0.001) -> None:
        if _check_nonneg(lr, "lr") == 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr!r}")
        if _check_nonneg(momentum, "momentum") >= 1:
            raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(eta, "eta")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta,
                                      lars_exclude=False))

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if not group["lars_exclude"]:
                    if group["weight_decay"]:
                        g = g.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    trust = torch.where((w_norm > 0) & (g_norm > 0), group["eta"] * w_norm / g_norm,
                                        torch.ones_like(w_norm))
                    g = g * trust
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                v = state["velocity"]
                v.mul_(group["momentum"]).add_(g, alpha=group["lr"])
                p.sub_(v)
        return loss


__all__ = ["LARS", "lars_param_groups"]
