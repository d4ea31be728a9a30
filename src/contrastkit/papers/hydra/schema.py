"""The strict schema of ``papers/hydra/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contrastkit.papers._schema import (
    ImageEncoderSection,
    PairedClaimSection,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Section,
    SmokeQuickSection,
    StepTrainerSection,
)


class Data(Section):
    dataset: Literal["digits_canvas"]


class Gate(Section):
    embed_dim: PositiveInt
    hidden_dim: PositiveInt


class Model(Section):
    image_encoder: ImageEncoderSection
    projector_hidden: PositiveInt
    projector_out: PositiveInt
    gate: Gate


class Arm(Section):
    pair_mode: Literal["identical", "arbitrary"]
    gated: bool


class Method(Section):
    temperature: PositiveFloat


class Quick(SmokeQuickSection):
    batch_size: PositiveInt | None = None


class Claims(Section):
    arbitrary_hurts: PairedClaimSection
    gain_over_arbitrary: PairedClaimSection
    vs_supcon: PairedClaimSection


class HydraRecipe(PaperRecipe):
    """``papers/hydra/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    arms: dict[str, Arm] = Field(min_length=1)
    method: Method
    trainer: StepTrainerSection
    quick: Quick = Quick()
    claims: Claims


RECIPE = HydraRecipe
SCHEMAS = {"recipe.yaml": HydraRecipe}
