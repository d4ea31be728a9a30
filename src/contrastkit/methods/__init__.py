"""Training schemes built from the parts, as Lightning modules, and their training helpers."""

from contrastkit.methods.autotcl import AutoTCL
from contrastkit.methods.clip import CLIP, LiT, LogitScale, label_smoothing_weights
from contrastkit.methods.comet import COMET, GroupBatchSampler
from contrastkit.methods.fini import ImprovedCLIP
from contrastkit.methods.gradcache import GradCache, grad_cache_step
from contrastkit.methods.hydra import HydraContrastive, PairGate
from contrastkit.methods.moco import MoCo
from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum, update_momentum
from contrastkit.methods.sepclr import SepCLRModel
from contrastkit.methods.supremix import ContrastiveRegression
from contrastkit.methods.ts_contrastive import TS2Vec, TSSimCLR
from contrastkit.methods.view_contrastive import EncoderWithHead, SimCLR, SupCon, ViewContrastive

__all__ = [
    "CLIP", "ContrastiveRegression", "HydraContrastive", "ImprovedCLIP", "LiT", "LogitScale", "PairGate",
    "SepCLRModel", "label_smoothing_weights",
    "COMET", "AutoTCL", "EncoderWithHead", "GradCache", "GroupBatchSampler", "MoCo", "MomentumEncoder",
    "SimCLR", "SupCon", "TS2Vec", "TSSimCLR", "ViewContrastive", "cosine_momentum", "grad_cache_step",
    "update_momentum",
]
