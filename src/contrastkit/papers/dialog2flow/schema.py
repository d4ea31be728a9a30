"""The strict schema of ``papers/dialog2flow/recipe.yaml`` (checked whenever the recipe is loaded; an unknown
key or a wrong type is an error naming the dotted key)."""

from __future__ import annotations

from pydantic import Field

from contrastkit.papers._dialogue import ComparisonSpec, DataSection, ModelSection, TrainerSection
from contrastkit.papers._schema import PaperRecipe, PositiveFloat, PositiveInt, Section


class LossSection(Section):
    temperature: PositiveFloat
    label_temperature: PositiveFloat


class Arm(Section):
    soft: bool


class Evaluation(Section):
    shots: list[PositiveInt] = Field(min_length=1)
    episodes: PositiveInt


class Claims(Section):
    learns: ComparisonSpec
    f1_1shot: ComparisonSpec
    f1_5shot: ComparisonSpec
    spearman: ComparisonSpec


class Dialog2FlowRecipe(PaperRecipe):
    """``papers/dialog2flow/recipe.yaml``."""

    data: DataSection
    model: ModelSection
    loss: LossSection
    trainer: TrainerSection
    arms: dict[str, Arm]
    evaluation: Evaluation
    claims: Claims


RECIPE = Dialog2FlowRecipe
SCHEMAS = {"recipe.yaml": Dialog2FlowRecipe}
