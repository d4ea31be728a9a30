"""Deprecated import path, kept for one release: the image reproductions live in ``contrastkit.papers``
(``papers/dcl``, ``papers/cacr``, ``papers/temperature``; shared helpers in ``papers/_vision.py``)."""

from contrastkit.papers._vision import QUICK_STEPS, RECIPES, base_recipe, cache_dir, run, variant
from contrastkit.papers.cacr.reproduce import reproduce as cacr
from contrastkit.papers.dcl.reproduce import positive_logit_gradients
from contrastkit.papers.dcl.reproduce import reproduce as dcl
from contrastkit.papers.temperature.reproduce import reproduce as temperature

__all__ = ["QUICK_STEPS", "RECIPES", "base_recipe", "cache_dir", "cacr", "dcl", "positive_logit_gradients", "run",
           "temperature", "variant"]
