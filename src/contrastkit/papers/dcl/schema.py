"""The strict schema of ``papers/dcl/reproduce.yaml`` (the sweep; checked whenever it is loaded).
The base training recipe ``papers/dcl/recipe.yaml`` is a :class:`contrastkit.pipeline.recipe.Recipe`
(strict as well)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contrastkit.papers._schema import PositiveInt, Prob, Section, StrictSeed
from contrastkit.pipeline.recipe import Recipe


class DCLSweep(Section):
    """``papers/dcl/reproduce.yaml``: losses x batch sizes x seeds of the base recipe, significance level, the
    coupling probe's two batch sizes (small, large) and the seed of its augmented views."""

    quick_mode: ClassVar[str] = "typed"
    name: Literal["dcl"]
    losses: list[str] = Field(min_length=2)
    batch_sizes: list[PositiveInt] = Field(min_length=2)
    seeds: list[StrictSeed] = Field(min_length=1)
    alpha: Prob
    quick_max_steps: PositiveInt
    coupling_batch_sizes: list[PositiveInt] = Field(min_length=2, max_length=2)
    coupling_view_seed: StrictSeed


SCHEMAS = {"recipe.yaml": Recipe, "reproduce.yaml": DCLSweep}
