"""Deprecated import path, kept for one release: see :mod:`contrastkit.training.steps`."""

from contrastkit.training.steps import StepTicks, batch_rows

__all__ = ["StepTicks", "batch_rows"]
