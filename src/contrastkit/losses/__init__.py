"""Contrastive losses: ``loss(a, b=None, *, labels=None, weights=None, negatives=None)``."""

from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.cacr import CACR
from contrastkit.losses.coconut import NSPT
from contrastkit.losses.cwcl import CWCL, cwcl_weights
from contrastkit.losses.hydra import Hydra
from contrastkit.losses.infonce import DCL, DCLW, HardNegativeInfoNCE, InfoNCE
from contrastkit.losses.preference import DPO
from contrastkit.losses.sentence import InputLabelInfoNCE, SimCSE, contrastive_pairs
from contrastkit.losses.sepclr import SepCLR
from contrastkit.losses.siglip import SigLIP
from contrastkit.losses.simple import SimpleContrastive
from contrastkit.losses.soft_label import SoftLabelInfoNCE, label_similarity_weights, views_tile
from contrastkit.losses.ssl import BarlowTwins, NegativeCosine, SwAV, VICReg, sinkhorn
from contrastkit.losses.supremix import SupReMix

__all__ = [
    "CACR", "CWCL", "DCL", "DCLW", "DPO", "BarlowTwins", "ContrastiveLoss", "HardNegativeInfoNCE", "Hydra", "InfoNCE",
    "InputLabelInfoNCE", "NSPT", "NegativeCosine", "SepCLR", "SigLIP", "SimCSE", "SimpleContrastive",
    "SoftLabelInfoNCE", "SupReMix", "SwAV", "VICReg", "contrastive_pairs", "cwcl_weights", "label_similarity_weights",
    "sinkhorn", "views_tile",
]
