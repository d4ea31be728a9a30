"""Contrastive losses: ``loss(a, b=None, *, labels=None, weights=None, negatives=None)``."""

from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.cacr import CACR
from contrastkit.losses.infonce import DCL, DCLW, HardNegativeInfoNCE, InfoNCE
from contrastkit.losses.simple import SimpleContrastive

__all__ = ["CACR", "DCL", "DCLW", "ContrastiveLoss", "HardNegativeInfoNCE", "InfoNCE",
           "SimpleContrastive"]
