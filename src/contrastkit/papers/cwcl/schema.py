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


class Trainer(Section):
    max_steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class Quick(Section):
    seeds: list[StrictSeed] = Field(default_factory=list)
    max_steps: PositiveInt | None = None
    n_train: PositiveInt | None = None
    n_test: PositiveInt | None = None


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
    trainer: Trainer
    quick: Quick = Quick()
    claims: Claims


RECIPE = CWCLRecipe
SCHEMAS = {"recipe.yaml": CWCLRecipe}
