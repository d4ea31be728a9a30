"""Learning-rate schedules by optimizer step: linear warm-up then cosine decay.

The momentum schedule of momentum encoders (BYOL's cosine ``tau`` from 0.996 to 1) lives with the
momentum encoders: :func:`contrastkit.methods.momentum.cosine_momentum`.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "warmup_cosine")


def _check_step_count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def warmup_cosine(step: int, total_steps: int, warmup_steps: int = 0, final_factor: float = 0.0) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based).

    ``(step + 1) / warmup_steps`` during the warm-up (so step 0 already moves; the base rate is
    reached at the last warm-up step), then the half-cosine of SGDR (Loshchilov & Hutter, ICLR 2017)
    as used by SimCLR / BYOL (Goyal et al. 2017 warm-up)::

        f(t) = final + (1 - final) * (1 + cos(pi * (t - W) / (T - W))) / 2,   W <= t < T

    and ``final_factor`` from ``total_steps`` on.

    Args:
        step: optimizer step, >= 0.
        total_steps: steps of the whole run (``T``), > ``warmup_steps``.
        warmup_steps: ``W`` >= 0.
        final_factor: the multiplier at the end of the decay, in ``[0, 1]``.
    """
    total_steps = _check_step_count(total_steps, "total_steps", 1)
    warmup_steps = _check_step_count(warmup_steps, "warmup_steps", 0)
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps: expected fewer than total_steps={total_steps}, got {warmup_steps}")
    if isinstance(final_factor, bool) or not isinstance(final_factor, (int, float)) or not 0 <= final_factor <= 1:
        raise ValueError(f"final_factor: expected a number in [0, 1], got {final_factor!r}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step >= total_steps:
        return float(final_factor)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return final_factor + (1 - final_factor) * (1 + math.cos(math.pi * progress)) / 2


__all__ = ["SCHEDULES", "warmup_cosine"]
