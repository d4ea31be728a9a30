"""The strict schema of ``papers/supremix/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Literal

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


class Data(Section):
    max_angle: PositiveInt
    copies: PositiveInt
    seed: StrictSeed


class Model(Section):
    encoder: ImageEncoderSection
    projector_hidden: PositiveInt
    projector_out: PositiveInt


class LossKwargs(Section):
    """:class:`contrastkit.losses.SupReMixLoss` keyword arguments."""

    temperature: PositiveFloat
    window: PositiveFloat
    beta: list[PositiveFloat] | None = Field(default=None, min_length=2, max_length=2)
    use_weight: bool | None = None
    mix_negatives: bool | None = None
    mix_positives: bool | None = None


class Arm(Section):
    objective: Literal["none", "l1", "supremix"]
    loss_kwargs: LossKwargs | None = None


class Evaluation(Section):
    ridge_alphas: list[PositiveFloat] = Field(min_length=1)  # RidgeCV's candidate regularisation strengths


class RelativeClaim(PairedClaimSection):
    paper_effect_relative: PositiveFloat  # the effect to detect, as a fraction of the baseline's error


class Claims(Section):
    baseline_mae_ratio_max: PositiveFloat
    baseline_vs_random_init: PairedClaimSection
    exact_positive_share_min: Prob
    mean_weight_min: FiniteFloat
    vs_supcon: RelativeClaim
    vs_l1: RelativeClaim


class SupReMixRecipe(PaperRecipe):
    """``papers/supremix/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    arms: dict[str, Arm] = Field(min_length=1)
    augment: CanvasAugmentSection
    trainer: StepTrainerSection
    evaluation: Evaluation
    quick: SmokeQuickSection = SmokeQuickSection()
    claims: Claims


RECIPE = SupReMixRecipe
SCHEMAS = {"recipe.yaml": SupReMixRecipe}
