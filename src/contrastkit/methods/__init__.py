"""Training schemes built from the parts, as Lightning modules, and their training helpers.

The paper-specific modules moved to :mod:`contrastkit.papers` (``papers/<name>/module.py``); their
names are still importable from here for one release, loaded lazily (PEP 562) so that importing
``contrastkit.methods`` does not import every paper.
"""

from __future__ import annotations

import importlib
from typing import Any

from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.byol import BYOL
from contrastkit.methods.dino import DINO
from contrastkit.methods.gradcache import GradCache, grad_cache_step
from contrastkit.methods.moco import MoCo
from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum, update_momentum
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.ts_contrastive import TS2Vec, TSSimCLR
from contrastkit.methods.vicreg import VICReg
from contrastkit.methods.view_contrastive import EncoderWithHead, SimCLR, SupCon, ViewContrastive

_MOVED = {
    "AutoTCL": "autotcl", "CLIP": "clip", "LiT": "clip", "LogitScale": "clip", "label_smoothing_weights": "clip",
    "COMET": "comet", "GroupBatchSampler": "comet", "ImprovedCLIP": "fini", "HydraContrastive": "hydra",
    "PairGate": "hydra", "SepCLRModel": "sepclr", "ContrastiveRegression": "supremix",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f"contrastkit.papers.{_MOVED[name]}.module"), name)
    raise AttributeError(f"module 'contrastkit.methods' has no attribute {name!r}")


__all__ = [
    "CLIP", "ContrastiveRegression", "HydraContrastive", "ImprovedCLIP", "LiT", "LogitScale", "PairGate",
    "SepCLRModel", "label_smoothing_weights",
    "COMET", "AutoTCL", "EncoderWithHead", "GradCache", "GroupBatchSampler", "MoCo", "MomentumEncoder",
    "BYOL", "BarlowTwins", "DINO", "SimSiam", "VICReg",
    "SimCLR", "SupCon", "TS2Vec", "TSSimCLR", "ViewContrastive", "cosine_momentum", "grad_cache_step",
    "update_momentum",
]
