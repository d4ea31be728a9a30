"""The strict schema of ``papers/cwcl/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contrastkit.papers._schema import (
    ImageEncoderSection,
    PairedClaimSection,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Prob,
    Section,
    SmokeQuickSection,
    StepTrainerSection,
    StrictSeed,
)


class Data(Section):
    dataset: Literal["fashion_mnist"]
    n_train: PositiveInt
    n_test: PositiveInt
    subset_seed: StrictSeed
    caption_seed: StrictSeed


class Model(Section):
    image_encoder: ImageEncoderSection
    embed_dim: PositiveInt


class Arm(Section):
    weights: Literal["none", "frozen", "class"]  # one-hot InfoNCE | frozen-tower similarities | class identity


class Method(Section):
    init_temperature: PositiveFloat
    max_logit_scale: PositiveFloat
    reverse: str


class Claims(Section):
    frozen_similarity_auc_min: Prob
    oracle: PairedClaimSection
    cwcl: PairedClaimSection


class CWCLRecipe(PaperRecipe):
    """``papers/cwcl/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    arms: dict[str, Arm] = Field(min_length=1)
    method: Method
    trainer: StepTrainerSection
    quick: SmokeQuickSection = SmokeQuickSection()
    claims: Claims


RECIPE = CWCLRecipe
SCHEMAS = {"recipe.yaml": CWCLRecipe}
