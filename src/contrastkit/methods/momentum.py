"""Momentum (EMA) target encoders: MoCo (He et al. 2020, CVPR) and BYOL (Grill et al. 2020,
NeurIPS) schedules.

``theta_target <- m * theta_target + (1 - m) * theta_online`` after each optimiser step; the
target receives no gradient. BYOL raises ``m`` from ``m_0`` to 1 with a cosine schedule::

    m(t) = 1 - (1 - m_0) * (cos(pi * t / T) + 1) / 2
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn


def _check_momentum(m: float) -> float:
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m <= 1:
        raise ValueError(f"m: expected a momentum in [0, 1], got {m!r}")
    return float(m)


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, m: float) -> None:
    """In place: ``target_p = m * target_p + (1 - m) * online_p`` for every parameter; floating
    buffers (e.g. batch-norm statistics) are copied from the online model.

    The two modules must have the same parameter names and shapes.
    """
    m = _check_momentum(m)
    online_params = dict(online.named_parameters())
    target_params = dict(target.named_parameters())
    if online_params.keys() != target_params.keys():
        raise ValueError("target: expected the same parameter names as online")
    for name, tp in target_params.items():
        op = online_params[name]
        if op.shape != tp.shape:
            raise ValueError(f"target: parameter {name!r} has shape {tuple(tp.shape)}, online "
                             f"{tuple(op.shape)}")
        tp.mul_(m).add_(op.detach().to(tp.dtype), alpha=1 - m)
    online_buffers = dict(online.named_buffers())
    for name, tb in target.named_buffers():
        if name in online_buffers:
            tb.copy_(online_buffers[name])


def cosine_momentum(step: int, total_steps: int, start: float = 0.996, end: float = 1.0) -> float:
    """BYOL's schedule ``end - (end - start) * (cos(pi * step / total_steps) + 1) / 2``; ``step`` is
    clamped to ``[0, total_steps]``."""
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps: expected an integer >= 1, got {total_steps!r}")
    _check_momentum(start)
    _check_momentum(end)
    t = min(max(step, 0), total_steps) / total_steps
    return end - (end - start) * (math.cos(math.pi * t) + 1) / 2


class MomentumEncoder(nn.Module):
    """A frozen EMA copy of ``online`` (MoCo's key encoder, BYOL's target network).

    ``forward`` runs the target without a graph; ``update(m)`` applies :func:`update_momentum`.
    The online module is referenced, not registered, so it is not saved twice in a state dict.

    Example::

        key_encoder = MomentumEncoder(query_encoder)
        for step, (x_q, x_k) in enumerate(loader):
            ...
            key_encoder.update(cosine_momentum(step, total_steps, start=0.99))
    """

    def __init__(self, online: nn.Module) -> None:
        super().__init__()
        if not isinstance(online, nn.Module):
            raise TypeError(f"online: expected an nn.Module, got {type(online).__name__}")
        self.__dict__["online"] = online  # not a submodule: its parameters belong to the optimiser
        self.target = copy.deepcopy(online)
        for p in self.target.parameters():
            p.requires_grad_(False)

    def update(self, m: float) -> None:
        """``target <- m * target + (1 - m) * online``."""
        update_momentum(self.__dict__["online"], self.target, m)

    @torch.no_grad()
    def forward(self, *args: object, **kwargs: object) -> Tensor:
        return self.target(*args, **kwargs)


__all__ = ["MomentumEncoder", "cosine_momentum", "update_momentum"]
