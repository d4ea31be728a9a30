"""The strict schema of ``papers/debcse/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contrastkit.papers._schema import FiniteFloat, PaperRecipe, PositiveInt, Section
from contrastkit.papers.simcse.schema import Data, EffectClaim, Model
from contrastkit.papers.simcse.schema import Trainer as SimCSETrainer

Cosine = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1.0, le=1.0)]


class Sampling(Section):
    neighbours: PositiveInt
    theta_pos: Cosine
    theta_neg: Cosine
    length_edges: list[PositiveInt] = Field(min_length=1)


class Trainer(SimCSETrainer):
    hard_negative_weight: FiniteFloat


class Arm(Section):
    pairs: Literal["simcse", "neighbours", "ipw"]


class Claims(Section):
    spearman: EffectClaim
    length_bias: EffectClaim


class DebCSERecipe(PaperRecipe):
    """``papers/debcse/recipe.yaml``."""

    model: Model
    data: Data
    sampling: Sampling
    trainer: Trainer
    arms: dict[str, Arm] = Field(min_length=1)
    claims: Claims


RECIPE = DebCSERecipe
SCHEMAS = {"recipe.yaml": DebCSERecipe}
