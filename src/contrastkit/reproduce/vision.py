"""Deprecated import path, kept for one release: the image reproductions live in ``contrastkit.papers``
(``papers/dcl``, ``papers/cacr``, ``papers/temperature``; shared helpers in ``papers/_vision.py``)."""

from collections.abc import Sequence
from typing import Any

from contrastkit.papers._vision import RECIPES, base_recipe, cache_dir, run
from contrastkit.papers._vision import variant as _variant
from contrastkit.papers.cacr.reproduce import reproduce as cacr
from contrastkit.papers.dcl.reproduce import positive_logit_gradients
from contrastkit.papers.dcl.reproduce import reproduce as dcl
from contrastkit.papers.temperature.reproduce import reproduce as temperature

QUICK_STEPS = 15  # the old quick-run length; the sweeps now read theirs from ``quick_max_steps``


def variant(base: dict[str, Any], overrides: Sequence[str], quick: bool) -> Any:
    """The old signature: ``quick`` trains :data:`QUICK_STEPS` steps (:func:`contrastkit.papers._vision.variant`)."""
    return _variant(base, overrides, QUICK_STEPS if quick else None)


__all__ = ["QUICK_STEPS", "RECIPES", "base_recipe", "cache_dir", "cacr", "dcl", "positive_logit_gradients", "run",
           "temperature", "variant"]
