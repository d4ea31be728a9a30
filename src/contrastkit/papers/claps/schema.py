"""The strict schema of ``papers/claps/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import Literal

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


class Model(Section):
    """``transformers.T5Config`` keyword arguments of the tiny T5."""

    vocab_size: PositiveInt
    d_model: PositiveInt
    d_kv: PositiveInt
    d_ff: PositiveInt
    num_layers: PositiveInt
    num_decoder_layers: PositiveInt
    num_heads: PositiveInt


class Pretrain(Section):
    seed: StrictSeed
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    n_sequences: PositiveInt
    mask_prob: Prob
    mask_token: StrictSeed
    sequence_words: list[PositiveInt] = Field(min_length=2, max_length=2)
    first_word: StrictSeed
    n_words: PositiveInt


class Finetune(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    n_train: PositiveInt


class Eval(Section):
    n_test: PositiveInt
    noise: Prob


class Arm(Section):
    """:class:`contrastkit.generation.claps.CLAPS` keyword arguments."""

    mode: Literal["mle", "naive", "claps"]
    tau: PositiveFloat | None = None
    eps_pos: PositiveFloat | None = None
    eps_neg: PositiveFloat | None = None
    rescaled_states: bool | None = None


class Quick(Section):
    seeds: list[StrictSeed] = Field(default_factory=list)
    pretrain_steps: PositiveInt
    pretrain_sequences: PositiveInt
    finetune_steps: PositiveInt
    n_train: PositiveInt
    n_test: PositiveInt


class Claims(Section):
    baseline_clean_acc_min: Prob
    vs_mle: PairedClaimSection


class CLAPSRecipe(PaperRecipe):
    """``papers/claps/recipe.yaml``; ``quick``: flat overrides read by the reproduction."""

    quick_mode = "typed"
    model: Model
    pretrain: Pretrain
    finetune: Finetune
    eval: Eval
    arms: dict[str, Arm] = Field(min_length=1)
    quick: Quick
    claims: Claims


RECIPE = CLAPSRecipe
SCHEMAS = {"recipe.yaml": CLAPSRecipe}
