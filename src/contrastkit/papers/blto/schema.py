"""The strict schema of ``papers/blto/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contrastkit.papers._schema import (
    CanvasAugmentSection,
    PairedClaimSection,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Prob,
    Section,
    SmokeQuickSection,
    StrictSeed,
)


class Data(Section):
    dataset: Literal["digits_canvas"]


class Attack(Section):
    target: StrictSeed
    rate: Prob
    epsilon: PositiveFloat
    patch_size: PositiveInt


class Head(Section):
    hidden: PositiveInt
    out: PositiveInt


class Victim(Section):
    widths: list[PositiveInt] = Field(min_length=1)
    head: Head
    temperature: PositiveFloat
    batch_size: PositiveInt
    lr: PositiveFloat
    max_steps: PositiveInt
    augment: CanvasAugmentSection


class BLTO(Section):
    generator_hidden: PositiveInt
    surrogate_widths: list[PositiveInt] = Field(min_length=1)
    rounds: PositiveInt
    inner_steps: PositiveInt
    outer_steps: PositiveInt
    reinit_every: PositiveInt
    batch_size: PositiveInt
    poison_per_batch: PositiveInt
    surrogate_lr: PositiveFloat
    generator_lr: PositiveFloat


class Quick(SmokeQuickSection):
    rounds: PositiveInt | None = None
    inner_steps: PositiveInt | None = None
    outer_steps: PositiveInt | None = None


class Claims(Section):
    clean_victim_accuracy_min: Prob
    implant_min: Prob
    over_patch: PairedClaimSection
    over_noise: PairedClaimSection
    clean_accuracy: PairedClaimSection


class BLTORecipe(PaperRecipe):
    """``papers/blto/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    attack: Attack
    victim: Victim
    blto: BLTO
    quick: Quick = Quick()
    claims: Claims


RECIPE = BLTORecipe
SCHEMAS = {"recipe.yaml": BLTORecipe}
