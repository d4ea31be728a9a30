"""The strict schema of ``papers/space2/recipe.yaml`` (checked whenever the recipe is loaded; an unknown
key or a wrong type is an error naming the dotted key)."""

from __future__ import annotations

from pydantic import Field

from contrastkit.papers._dialogue import ComparisonSpec, DataSection, ModelSection
from contrastkit.papers._schema import PaperRecipe, PositiveFloat, PositiveInt, Section


class Data(DataSection):
    labeled_fraction: float = Field(strict=True, gt=0, lt=1)


class LossSection(Section):
    temperature: PositiveFloat


class Trainer(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    unlabeled_batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: float = 0.0


class Arm(Section):
    supervision: str = Field(pattern="^(none|exact|tree)$")


class Evaluation(Section):
    shots: PositiveInt
    episodes: PositiveInt


class Claims(Section):
    learns: ComparisonSpec
    f1: ComparisonSpec
    tree_spearman: ComparisonSpec


class Space2Recipe(PaperRecipe):
    """``papers/space2/recipe.yaml``."""

    data: Data
    model: ModelSection
    loss: LossSection
    trainer: Trainer
    arms: dict[str, Arm]
    evaluation: Evaluation
    claims: Claims


RECIPE = Space2Recipe
SCHEMAS = {"recipe.yaml": Space2Recipe}
