"""The strict schema of ``papers/temperature/reproduce.yaml`` (the sweep; checked whenever it is loaded).
The base training recipe ``papers/temperature/recipe.yaml`` is a :class:`contrastkit.pipeline.recipe.Recipe`
(strict as well)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contrastkit.papers._schema import PositiveFloat, PositiveInt, Prob, Section, StrictSeed
from contrastkit.pipeline.recipe import Recipe


class HardNegatives(Section):
    loss: str
    fraction: Prob
    margin: Annotated[float, Field(strict=True, allow_inf_nan=False, le=0.0)]  # non-inferiority: <= 0


class TemperatureSweep(Section):
    """``papers/temperature/reproduce.yaml``: the taus (full and quick), seeds, the hard-negative arm."""

    quick_mode: ClassVar[str] = "typed"
    name: Literal["temperature"]
    taus: list[PositiveFloat] = Field(min_length=2)
    quick_taus: list[PositiveFloat] = Field(min_length=2)
    seeds: list[StrictSeed] = Field(min_length=1)
    alpha: Prob
    hard_negatives: HardNegatives
    quick_max_steps: PositiveInt


SCHEMAS = {"recipe.yaml": Recipe, "reproduce.yaml": TemperatureSweep}
