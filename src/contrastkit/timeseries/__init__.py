"""Time series: bundled UCR/UEA loaders, batched augmentations, the TS2Vec encoder and losses,
AutoTCL's parametric augmentation and COMET's multi-level contrast."""

from contrastkit.timeseries.augment import (
    AUGMENTATIONS,
    cropping,
    get_augmentation,
    jitter,
    jitter_scaling,
    masking,
    permutation,
    scaling,
    time_warp,
)
from contrastkit.timeseries.data import (
    BUNDLED_CLASSIFICATION,
    TimeSeriesDataset,
    load_forecasting_series,
    load_ucr,
    znormalize,
)
from contrastkit.timeseries.encoder import TSEncoder, instance_pool
from contrastkit.timeseries.losses import (
    HierarchicalContrastiveLoss,
    hierarchical_contrastive_loss,
    instance_contrastive_loss,
    temporal_contrastive_loss,
    ts2vec_crop_pair,
)

__all__ = [
    "AUGMENTATIONS",
    "BUNDLED_CLASSIFICATION",
    "HierarchicalContrastiveLoss",
    "TSEncoder",
    "TimeSeriesDataset",
    "cropping",
    "get_augmentation",
    "hierarchical_contrastive_loss",
    "instance_contrastive_loss",
    "instance_pool",
    "jitter",
    "jitter_scaling",
    "load_forecasting_series",
    "load_ucr",
    "masking",
    "permutation",
    "scaling",
    "temporal_contrastive_loss",
    "time_warp",
    "ts2vec_crop_pair",
    "znormalize",
]
