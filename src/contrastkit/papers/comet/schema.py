"""The strict schema of ``papers/comet/recipe.yaml`` (checked whenever the recipe is loaded)."""

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


class Hierarchy(Section):
    trials_per_patient: PositiveInt
    subject_effect: FiniteFloat
    window: PositiveInt
    stride: PositiveInt


class Dataset(Section):
    source: str
    name: str
    normalize: bool
    splits_used: str
    hierarchy: Hierarchy
    test_fraction: PositiveFloat
    folds: PositiveInt


class Training(Section):
    method: str
    variants: dict[str, dict[str, FiniteFloat]] = Field(min_length=1)  # arm -> {level: weight}
    pairs: str
    lr: PositiveFloat
    batch_size: PositiveInt
    batches: str
    epochs: PositiveInt
    seeds: list[StrictSeed] = Field(min_length=1)
    trainer: LightningTrainerSection


class Evaluation(Section):
    probe: str


class AllVsSingle(Section):
    metric: str
    rule: str
    combined: str
    margin: FiniteFloat
    alpha: PositiveFloat
    planning_accuracy: PositiveFloat
    gating: bool


class Claims(Section):
    all_vs_single: AllVsSingle


class COMETRecipe(TrainingSectionRecipe):
    """``papers/comet/recipe.yaml``."""

    dataset: Dataset
    encoder: TSEncoderSection
    training: Training
    evaluation: Evaluation
    claims: Claims


RECIPE = COMETRecipe
