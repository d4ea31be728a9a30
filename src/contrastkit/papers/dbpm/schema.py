"""The strict schema of ``papers/dbpm/recipe.yaml`` (checked whenever the recipe is loaded)."""

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


class Planted(Section):
    fraction: PositiveFloat
    seed_offset: int = Field(strict=True)
    noise_std: PositiveFloat
    faulty_segments: PositiveInt
    faulty_jitter: PositiveFloat


class Dataset(Section):
    source: str
    name: str
    normalize: bool
    split: str
    planted: Planted


class WeakView(Section):
    scaling: PositiveFloat


class StrongView(Section):
    segments: PositiveInt
    jitter: PositiveFloat


class Training(Section):
    method: str
    weak_view: WeakView
    strong_view: StrongView
    temperature: PositiveFloat
    lr: PositiveFloat
    batch_size: PositiveInt
    epochs: PositiveInt
    warmup: int = Field(strict=True, ge=0)
    beta_np: FiniteFloat
    beta_fp: FiniteFloat
    seeds: list[StrictSeed] = Field(min_length=1)
    trainer: LightningTrainerSection


class Evaluation(Section):
    probe: str


class Signal(Section):
    auroc_min: PositiveFloat


class FlagPrecision(Section):
    rule: str
    factor: PositiveFloat
    gating: bool


class ProbeAccuracy(Section):
    rule: str
    gating: bool


class Claims(Section):
    alpha: PositiveFloat
    signal: Signal
    flag_precision: FlagPrecision
    probe_accuracy: ProbeAccuracy


class DBPMRecipe(TrainingSectionRecipe):
    """``papers/dbpm/recipe.yaml``."""

    dataset: Dataset
    encoder: TSEncoderSection
    training: Training
    evaluation: Evaluation
    claims: Claims


RECIPE = DBPMRecipe
