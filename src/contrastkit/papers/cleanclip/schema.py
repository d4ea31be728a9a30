"""The strict schema of ``papers/cleanclip/recipe.yaml`` (checked whenever the recipe is loaded)."""

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

NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]


class Data(Section):
    upsample: PositiveInt
    defender_clean: PositiveInt
    split_seed: StrictSeed
    caption_seed: StrictSeed


class Trigger(Section):
    size: PositiveInt
    location: str
    pattern: str


class Attack(Section):
    trigger: Trigger
    rate: Prob
    target: StrictSeed
    target_word: str


class Model(Section):
    widths: list[PositiveInt] = Field(min_length=1)
    embed_dim: PositiveInt
    text_dim: PositiveInt
    init_temperature: PositiveFloat
    max_logit_scale: PositiveFloat


class Pretrain(Section):
    epochs: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class ImageAugment(Section):
    crop_scale: list[Prob] = Field(min_length=2, max_length=2)
    max_shift: NonNegativeInt
    noise_std: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]
    erase_size: NonNegativeInt
    erase_p: Prob


class TextAugment(Section):
    p_delete: Prob
    p_synonym: Prob


class Finetune(Pretrain):
    image_augment: ImageAugment
    text_augment: TextAugment


class Arm(Section):
    clip_weight: FiniteFloat
    inmodal_weight: FiniteFloat


class Quick(Section):
    seeds: list[StrictSeed] = Field(default_factory=list)
    pretrain_epochs: PositiveInt
    finetune_epochs: PositiveInt


class Claims(Section):
    poisoned_asr_min: Prob
    asr_reduction: PairedClaimSection
    clean_accuracy: PairedClaimSection


class CleanCLIPRecipe(PaperRecipe):
    """``papers/cleanclip/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    attack: Attack
    model: Model
    pretrain: Pretrain
    finetune: Finetune
    arms: dict[str, Arm] = Field(min_length=1)
    quick: Quick
    claims: Claims


RECIPE = CleanCLIPRecipe
SCHEMAS = {"recipe.yaml": CleanCLIPRecipe}
