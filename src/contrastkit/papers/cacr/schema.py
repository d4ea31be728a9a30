"""The strict schema of ``papers/cacr/reproduce.yaml`` (the sweep; checked whenever it is loaded).
The base training recipe ``papers/cacr/recipe.yaml`` is a :class:`contrastkit.pipeline.recipe.Recipe`
(strict as well)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contrastkit.papers._schema import PositiveInt, Prob, Section, StrictSeed
from contrastkit.pipeline.recipe import Recipe


class CACRSweep(Section):
    """``papers/cacr/reproduce.yaml``: arms (dotted overrides of the base recipe), seeds, claim margins."""

    quick_mode: ClassVar[str] = "typed"
    name: Literal["cacr"]
    arms: dict[str, list[str]] = Field(min_length=1)
    seeds: list[StrictSeed] = Field(min_length=1)
    alpha: Prob
    balanced_margin: Prob
    longtail_margin: Prob
    quick_max_steps: PositiveInt


SCHEMAS = {"recipe.yaml": Recipe, "reproduce.yaml": CACRSweep}
