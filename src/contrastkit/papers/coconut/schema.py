"""The strict schema of ``papers/coconut/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contrastkit.papers._schema import (
    FiniteFloat,
    PairedClaimSection,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Prob,
    Section,
    StrictSeed,
)

NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class Corpus(Section):
    """:func:`contrastkit.papers.coconut.data.load_intent_sets` corpus settings."""

    per_voice: PositiveInt
    voices: PositiveInt
    test_fraction: Prob
    perturb: bool
    seed: StrictSeed


class Data(Section):
    corpus: Corpus
    max_frames: PositiveInt


class Tasks(Section):
    per_task: PositiveInt


class Buffer(Section):
    per_class: PositiveInt


class Model(Section):
    hidden: PositiveInt
    embed_dim: PositiveInt
    temperature: PositiveFloat


class Trainer(Section):
    steps_per_task: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class Arm(Section):
    lambda_nspt: NonNegative
    lambda_mm: NonNegative


class Quick(Section):
    seeds: list[StrictSeed] = Field(default_factory=list)
    corpus: Corpus | None = None
    intents: list[str] | None = Field(default=None, min_length=1)
    tasks: Tasks | None = None
    steps_per_task: PositiveInt | None = None


class Claims(Section):
    first_task_min: Prob
    er_forgetting_min: FiniteFloat
    forgetting: PairedClaimSection
    accuracy: PairedClaimSection


class COCONUTRecipe(PaperRecipe):
    """``papers/coconut/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    tasks: Tasks
    buffer: Buffer
    model: Model
    trainer: Trainer
    arms: dict[str, Arm] = Field(min_length=1)
    quick: Quick = Quick()
    claims: Claims


RECIPE = COCONUTRecipe
SCHEMAS = {"recipe.yaml": COCONUTRecipe}
