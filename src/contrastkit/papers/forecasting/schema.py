"""The strict schema of ``papers/forecasting/recipe.yaml`` (checked whenever the recipe is loaded)."""

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
    name: str
    transform: str
    test_fraction: PositiveFloat


class Windows(Section):
    lookback: PositiveInt
    horizons: list[PositiveInt] = Field(min_length=1)


class Training(Section):
    method: str
    segment_length: PositiveInt
    alpha: FiniteFloat
    temporal_unit: int = Field(strict=True, ge=0)
    lr: PositiveFloat
    batch_size: PositiveInt
    epochs: PositiveInt
    seeds: list[StrictSeed] = Field(min_length=1)
    trainer: LightningTrainerSection


class Evaluation(Section):
    probe: str


class Comparison(Section):
    rule: str
    gating: bool


class Claims(Section):
    alpha: PositiveFloat
    vs_last_value: Comparison
    vs_raw: Comparison


class ForecastingRecipe(TrainingSectionRecipe):
    """``papers/forecasting/recipe.yaml``."""

    dataset: Dataset
    windows: Windows
    encoder: TSEncoderSection
    training: Training
    evaluation: Evaluation
    claims: Claims


RECIPE = ForecastingRecipe
