"""Deprecated import path, kept for one release: the image-text and vision reproductions live in
``contrastkit.papers`` (``papers/clip``, ``cwcl``, ``fini``, ``hydra``, ``sepclr``, ``supremix``; shared
helpers in ``papers/_multimodal.py``)."""

from contrastkit.papers._multimodal import RECIPES, load_recipe
from contrastkit.papers.clip.reproduce import reproduce as clip
from contrastkit.papers.cwcl.reproduce import reproduce as cwcl
from contrastkit.papers.fini.reproduce import reproduce as fini
from contrastkit.papers.hydra.reproduce import reproduce as hydra
from contrastkit.papers.sepclr.reproduce import digits_on_gratings
from contrastkit.papers.sepclr.reproduce import reproduce as sepclr
from contrastkit.papers.supremix.reproduce import reproduce as supremix
from contrastkit.papers.supremix.reproduce import rotated_digits

__all__ = ["RECIPES", "clip", "cwcl", "digits_on_gratings", "fini", "hydra", "load_recipe", "rotated_digits",
           "sepclr", "supremix"]
