"""The strict schema of ``papers/fini/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contrastkit.papers._schema import (
    CanvasAugmentSection,
    FiniteFloat,
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

Objective = Literal["clip", "simclr", "siam", "barlow", "vicreg", "swav"]


class Data(Section):
    dataset: Literal["digits_canvas"]
    templates: PositiveInt
    caption_seed: StrictSeed
    n_train: PositiveInt


class Model(Section):
    image_encoder: ImageEncoderSection
    embed_dim: PositiveInt
    text_embed_dim: PositiveInt
    aux_dim: PositiveInt
    aux_hidden: PositiveInt


class AuxWeights(Section):
    simclr: FiniteFloat
    siam: FiniteFloat
    barlow: FiniteFloat
    vicreg: FiniteFloat
    swav: FiniteFloat


class TrainingRecipe(Section):
    """One of the paper's training recipes (basic / rocket)."""

    augment: bool
    text_augment: bool
    label_smoothing: Prob
    n_local_views: Annotated[int, Field(strict=True, ge=0)]
    local_label_smoothing: Prob
    local_init_temperature: PositiveFloat


class TextAugment(Section):
    p_delete: Prob
    p_synonym: Prob


class Augment(Section):
    weak: CanvasAugmentSection
    strong: CanvasAugmentSection
    text: TextAugment


class Method(Section):
    init_temperature: PositiveFloat
    max_logit_scale: PositiveFloat


class Quick(SmokeQuickSection):
    arms: dict[str, list[Objective]] | None = None


class DesignTargets(Section):
    aux_gain_min: Prob
    rocket_aux_within: Prob
    rocket_gain_min: Prob


class Claims(Section):
    basic_zero_shot_min: Prob
    recipe_vs_aux: PairedClaimSection
    design_targets: DesignTargets


class FiniRecipe(PaperRecipe):
    """``papers/fini/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    aux_weights: AuxWeights
    recipes: dict[str, TrainingRecipe] = Field(min_length=1)
    augment: Augment
    arms: dict[str, list[Objective]] = Field(min_length=1)  # recipe -> objectives trained with it
    method: Method
    trainer: StepTrainerSection
    quick: Quick = Quick()
    claims: Claims


RECIPE = FiniRecipe
SCHEMAS = {"recipe.yaml": FiniRecipe}
