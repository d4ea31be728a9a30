"""The strict schemas of ``papers/clip/recipe.yaml`` (CLIP from scratch) and ``papers/clip/lit.yaml`` (LiT),
checked whenever either is loaded."""

from __future__ import annotations

from typing import ClassVar, Literal

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


class Digits(Section):
    dataset: Literal["digits_canvas"]
    templates: PositiveInt
    caption_seed: StrictSeed


class Fashion(Section):
    dataset: Literal["fashion_mnist"]
    n_train: PositiveInt
    n_test: PositiveInt
    subset_seed: StrictSeed
    caption_seed: StrictSeed


class Data(Section):
    digits: Digits
    fashion: Fashion


class Model(Section):
    image_encoder: ImageEncoderSection
    fashion_image_encoder: ImageEncoderSection
    embed_dim: PositiveInt
    text_embed_dim: PositiveInt


class Method(Section):
    loss: str
    init_temperature: PositiveFloat
    max_logit_scale: PositiveFloat
    learn_temperature: bool


class Trainer(StepTrainerSection):
    weight_decay: Prob


class Quick(SmokeQuickSection):
    pass
    fashion_n_train: PositiveInt | None = None
    fashion_n_test: PositiveInt | None = None


class Threshold(Section):
    threshold: Prob


class Claims(Section):
    lit_zero_shot_min: Prob
    clip_digits: Threshold
    clip_fashion: Threshold
    lit_numeral: PairedClaimSection


class CLIPRecipe(PaperRecipe):
    """``papers/clip/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    data: Data
    model: Model
    method: Method
    trainer: Trainer
    quick: Quick = Quick()
    claims: Claims


class LitData(Section):
    digits: Digits


class LitModel(Section):
    image_encoder: ImageEncoderSection
    embed_dim: PositiveInt
    text_head: bool


class LitQuick(SmokeQuickSection):
    seeds: None = None  # the LiT arm runs on the CLIP recipe's seeds


class LiTRecipe(Section):
    """``papers/clip/lit.yaml`` (the LiT arm of the CLIP reproduction; its seeds are the CLIP recipe's)."""

    quick_mode: ClassVar[str] = "typed"
    name: Literal["lit"]
    data: LitData
    model: LitModel
    method: Method
    trainer: Trainer
    quick: LitQuick = LitQuick()


RECIPE = CLIPRecipe
SCHEMAS = {"recipe.yaml": CLIPRecipe, "lit.yaml": LiTRecipe}
