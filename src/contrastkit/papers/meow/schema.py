"""The strict schema of ``papers/meow/recipe.yaml`` (checked whenever the recipe is loaded)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contrastkit.papers._schema import (
    PositiveFloat,
    PositiveInt,
    Prob,
    Section,
    StrictSeed,
)


class Dataset(Section):
    """:func:`contrastkit.graph.data.wordnet_hetero` keyword arguments (``split_seed`` is its ``seed``)."""

    n_lemmas: PositiveInt
    max_senses: PositiveInt
    min_class_size: PositiveInt
    vocabulary: PositiveInt
    train_per_class: PositiveInt
    val_per_class: PositiveInt
    split_seed: StrictSeed


class QuickDataset(Section):
    n_lemmas: PositiveInt | None = None
    max_senses: PositiveInt | None = None
    min_class_size: PositiveInt | None = None
    vocabulary: PositiveInt | None = None
    train_per_class: PositiveInt | None = None
    val_per_class: PositiveInt | None = None


class Encoder(Section):
    hidden_dim: PositiveInt
    dropout: Prob
    feature_mask: Prob
    edge_drop: dict[str, Prob] = Field(min_length=1)  # meta-path -> edge drop rate


class Method(Section):
    objective: Literal["infonce", "meow", "adameow"]
    temperature: PositiveFloat
    clusters: list[PositiveInt] | None = Field(default=None, min_length=1)
    proto_weight: PositiveFloat | None = None


class Training(Section):
    lr: PositiveFloat
    epochs: PositiveInt
    seeds: list[StrictSeed] = Field(min_length=1)


class Quick(Section):
    epochs: PositiveInt | None = None
    seeds: list[StrictSeed] | None = Field(default=None, min_length=1)
    dataset: QuickDataset | None = None


class Claims(Section):
    metric: str
    alpha: Prob
    power: Prob
    assumed_effect: PositiveFloat
    beats: list[list[str]] = Field(min_length=1)  # [method, baseline] pairs


class MEOWRecipe(Section):
    """``papers/meow/recipe.yaml``; ``quick``: ``training`` keys and ``dataset`` overrides."""

    quick_mode: ClassVar[str] = "typed"
    name: Literal["meow"]
    reproduce: str
    dataset: Dataset
    meta_paths: dict[str, str] = Field(min_length=1)  # meta-path -> intermediate node type
    encoder: Encoder
    methods: dict[str, Method] = Field(min_length=1)
    training: Training
    quick: Quick = Quick()
    claims: Claims


RECIPE = MEOWRecipe
SCHEMAS = {"recipe.yaml": MEOWRecipe}
