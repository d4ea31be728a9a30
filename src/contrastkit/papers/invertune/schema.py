"""The strict schema of ``papers/invertune/recipe.yaml`` (checked whenever the recipe is loaded; an unknown
key or a wrong type is an error naming the dotted key)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contrastkit.papers._schema import (
    PairedClaimSection,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Prob,
    Section,
    StrictSeed,
)

NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
NonNegativeFloat = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class Victim(Section):
    recipe: str  # the paper folder whose recipe builds the backdoored victim (data, attack, model, pre-training)


class TargetIdentification(Section):
    patch_size: PositiveInt
    location: Literal["bottom-right", "bottom-left", "top-right", "top-left"]
    margin: NonNegativeInt
    steps: PositiveInt
    lr: PositiveFloat
    top: PositiveInt


class InversionWeights(Section):
    nce: NonNegativeFloat
    emb: NonNegativeFloat
    ssim: NonNegativeFloat
    mask: NonNegativeFloat


class Inversion(Section):
    steps: PositiveInt
    lr: PositiveFloat
    batch_size: PositiveInt
    init_mask: Prob
    weights: InversionWeights


class Tuning(Section):
    batch_size: PositiveInt
    n_layers: PositiveInt
    steps: PositiveInt
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    feature_weight: NonNegativeFloat


class Quick(Section):
    seeds: list[StrictSeed] = Field(default_factory=list)
    pretrain_epochs: PositiveInt
    uap_steps: PositiveInt
    inversion_steps: PositiveInt
    tuning_steps: PositiveInt


class Claims(Section):
    poisoned_asr_min: Prob
    target_found_min: PositiveInt
    asr_reduction: PairedClaimSection
    clean_accuracy: PairedClaimSection


class InverTuneRecipe(PaperRecipe):
    """``papers/invertune/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    victim: Victim
    target_identification: TargetIdentification
    inversion: Inversion
    tuning: Tuning
    quick: Quick
    claims: Claims


RECIPE = InverTuneRecipe
SCHEMAS = {"recipe.yaml": InverTuneRecipe}
