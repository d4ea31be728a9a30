"""The strict schema of ``papers/primer/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections)."""

from __future__ import annotations

from pydantic import Field

from contrastkit.papers._schema import PaperRecipe, PositiveFloat, PositiveInt, Prob, Section


class Data(Section):
    seen: list[str] = Field(min_length=2)  # fortune categories trained on
    held_out: list[str] = Field(min_length=2)  # categories only seen as label names (zero-shot)
    per_category: PositiveInt
    max_chars: PositiveInt


class Trainer(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    temperature: PositiveFloat


class ZeroShot(Section):
    factor: PositiveFloat  # mean held-out accuracy >= factor x chance
    alpha: Prob  # and every seed's one-sided binomial test against chance below alpha


class Claims(Section):
    zero_shot: ZeroShot


class PrimerRecipe(PaperRecipe):
    """``papers/primer/recipe.yaml``."""

    data: Data
    trainer: Trainer
    claims: Claims


RECIPE = PrimerRecipe
SCHEMAS = {"recipe.yaml": PrimerRecipe}
