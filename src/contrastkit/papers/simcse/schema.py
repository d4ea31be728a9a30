"""The strict schema of ``papers/simcse/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections). The sections are shared with DebCSE's recipe."""

from __future__ import annotations

from contrastkit.papers._schema import PairedClaimSection, PaperRecipe, PositiveFloat, PositiveInt, Section, StrictSeed


class Model(Section):
    train_layers: PositiveInt  # top layers fine-tuned (lower layers frozen, their states cached)
    max_length: PositiveInt
    eval_max_length: PositiveInt


class Data(Section):
    n_sentences: PositiveInt
    min_words: PositiveInt
    max_words: PositiveInt
    data_seed: StrictSeed


class Trainer(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    temperature: PositiveFloat


class EffectClaim(PairedClaimSection):
    effect: PositiveFloat  # the smallest effect the design's MDE must not exceed


class Claims(Section):
    improves_sts: EffectClaim


class SimCSERecipe(PaperRecipe):
    """``papers/simcse/recipe.yaml``."""

    model: Model
    data: Data
    trainer: Trainer
    claims: Claims


RECIPE = SimCSERecipe
SCHEMAS = {"recipe.yaml": SimCSERecipe}
