"""The strict schema of ``papers/autotcl/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from pydantic import Field

from contrastkit.papers._schema import (
    FiniteFloat,
    LightningTrainerSection,
    PositiveFloat,
    PositiveInt,
    Section,
    StrictSeed,
    TrainingSectionRecipe,
    TSEncoderSection,
)


class Dataset(Section):
    source: str
    names: list[str] = Field(min_length=1)
    split: str
    normalize: list[str]


class Training(Section):
    method: str
    fixed_augmentations: list[str] = Field(min_length=1)
    aug_dim: PositiveInt
    aug_depth: PositiveInt
    gumbel_bias: FiniteFloat
    gamma_zeta: FiniteFloat
    ratio_step: PositiveInt
    swa: bool
    lr: PositiveFloat
    meta_lr: PositiveFloat
    local_weight: FiniteFloat
    local_k: PositiveInt
    reg_weight: FiniteFloat
    time_weight: FiniteFloat
    batch_size: PositiveInt
    iterations: PositiveInt
    seeds: list[StrictSeed] = Field(min_length=1)
    trainer: LightningTrainerSection


class Evaluation(Section):
    probe: str


class LearnedVsBaseline(Section):
    metric: str
    rule: str
    baseline: str
    paper_effect: PositiveFloat
    alpha: PositiveFloat
    planning_sd: PositiveFloat
    gating: bool


class KeepRatio(Section):
    rule: str
    window: PositiveInt
    bounds: list[FiniteFloat] = Field(min_length=2, max_length=2)
    gating: bool


class Claims(Section):
    learned_vs_baseline: LearnedVsBaseline
    keep_ratio: KeepRatio


class AutoTCLRecipe(TrainingSectionRecipe):
    """``papers/autotcl/recipe.yaml``."""

    dataset: Dataset
    encoder: TSEncoderSection
    training: Training
    evaluation: Evaluation
    claims: Claims


RECIPE = AutoTCLRecipe
