"""The strict schema of ``papers/mnrl_moe/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections)."""

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

Corpus = Literal["fortunes", "newsgroups"]


class Data(Section):
    corpus: Corpus
    domains: list[str] = Field(min_length=2)
    per_domain: PositiveInt
    n_test: PositiveInt
    min_words: PositiveInt
    max_chars: PositiveInt
    pool_seed: StrictSeed
    fallback_corpus: Corpus | None = None  # quick runs without Debian fortunes


class Model(Section):
    max_length: PositiveInt
    n_top: PositiveInt


class Arm(Section):
    train: bool
    experts: bool


class Trainer(Section):
    max_steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: Prob
    scale: PositiveFloat  # MNRL's similarity scale (1 / temperature)


class SharedClaim(PairedClaimSection):
    metric: str


class MoEClaim(PairedClaimSection):
    metrics: list[str] = Field(min_length=1)


class Claims(Section):
    shared_learns: SharedClaim
    moe_vs_shared: MoEClaim


class MNRLMoERecipe(PaperRecipe):
    """``papers/mnrl_moe/recipe.yaml``."""

    data: Data
    model: Model
    arms: dict[str, Arm] = Field(min_length=1)
    trainer: Trainer
    claims: Claims


RECIPE = MNRLMoERecipe
SCHEMAS = {"recipe.yaml": MNRLMoERecipe}
