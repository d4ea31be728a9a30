"""Training schemes built from the parts, as Lightning modules, and their training helpers."""

from contrastkit.methods.autotcl import AutoTCL
from contrastkit.methods.comet import COMET, GroupBatchSampler
from contrastkit.methods.gradcache import GradCache, grad_cache_step
from contrastkit.methods.moco import MoCo
from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum, update_momentum
from contrastkit.methods.ts_contrastive import TS2Vec, TSSimCLR
from contrastkit.methods.view_contrastive import EncoderWithHead, SimCLR, SupCon, ViewContrastive

__all__ = [
    "COMET", "AutoTCL", "EncoderWithHead", "GradCache", "GroupBatchSampler", "MoCo", "MomentumEncoder",
    "SimCLR", "SupCon", "TS2Vec", "TSSimCLR", "ViewContrastive", "cosine_momentum", "grad_cache_step",
    "update_momentum",
]
