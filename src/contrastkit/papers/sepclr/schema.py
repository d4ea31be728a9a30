"""The strict schema of ``papers/sepclr/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contrastkit.papers._schema import (
    CanvasAugmentSection,
    FiniteFloat,
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

NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class Data(Section):
    n_gratings: PositiveInt
    cycles: PositiveFloat
    background_fraction: Prob
    seed: StrictSeed
    test_copies: PositiveInt


class Encoder(Section):
    kind: str
    hidden: PositiveInt
    feature_dim: PositiveInt


class Model(Section):
    encoder: Encoder


class Arm(Section):
    beta_salient: NonNegative
    beta_reg: NonNegative
    lambda_jem: NonNegative


class Quick(SmokeQuickSection):
    batch_size: PositiveInt | None = None


class Claims(Section):
    pixel_digit_min: Prob
    salient_learned: PairedClaimSection
    leak_possible_min: FiniteFloat
    leakage: PairedClaimSection


class SepCLRRecipe(PaperRecipe):
    """``papers/sepclr/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    arms: dict[str, Arm] = Field(min_length=1)
    augment: CanvasAugmentSection
    trainer: StepTrainerSection
    quick: Quick = Quick()
    claims: Claims


RECIPE = SepCLRRecipe
SCHEMAS = {"recipe.yaml": SepCLRRecipe}
