"""The strict schema of ``papers/hicl/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections)."""

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

Corpus = Literal["fortunes", "newsgroups"]


class Data(Section):
    corpus: Corpus
    categories: list[str] = Field(min_length=2)
    per_category: PositiveInt
    n_task_train: PositiveInt
    n_task_test: PositiveInt
    max_chars: PositiveInt
    pool_seed: StrictSeed
    fallback_corpus: Corpus | None = None  # quick runs without Debian fortunes


class Encoder(Section):
    max_length: PositiveInt
    n_top: PositiveInt
    temperature: PositiveFloat
    max_steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: Prob


class Classifier(Section):
    hidden: PositiveInt
    layers: PositiveInt
    heads: PositiveInt
    max_length: PositiveInt
    n_triggers: Annotated[int, Field(strict=True, ge=0)]
    epochs: PositiveInt
    stage2_epochs: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    stage2_lr: PositiveFloat
    weight_decay: Prob


class Arms(Section):
    retrieval: list[Literal["minilm", "hash"]] = Field(min_length=2, max_length=2)
    classifier: list[Literal["no_context", "hash_context", "minilm_context"]] = Field(min_length=1)


class RetrievalClaim(PairedClaimSection):
    effect_of_interest: PositiveFloat  # no paper number: the effect the design's MDE is compared with


class Claims(Section):
    retrieval: RetrievalClaim
    classifier: PairedClaimSection


class HiCLRecipe(PaperRecipe):
    """``papers/hicl/recipe.yaml``."""

    data: Data
    encoder: Encoder
    classifier: Classifier
    arms: Arms
    claims: Claims


RECIPE = HiCLRecipe
SCHEMAS = {"recipe.yaml": HiCLRecipe}
