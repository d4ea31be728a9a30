"""The strict schemas of ``papers/rankgen/recipe.yaml`` (the miniature's settings,
:class:`contrastkit.papers.rankgen.reproduce.RankGenRecipe`) and ``papers/rankgen/paired.yaml`` (the paired
per-seed claim), checked whenever either is loaded."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contrastkit.papers._schema import FiniteFloat, PairedClaimSection, PaperRecipe, Section, StrictSeed
from contrastkit.papers.rankgen.reproduce import RankGenRecipe


class PairedQuick(Section):
    seeds: list[StrictSeed] = Field(min_length=1)


class PairedClaims(Section):
    sampled_gap_min: FiniteFloat
    rerank: PairedClaimSection


class RankGenPairedRecipe(PaperRecipe):
    """``papers/rankgen/paired.yaml``: the seeds and the claim of the paired per-seed decision."""

    quick_mode: ClassVar[str] = "typed"
    quick: PairedQuick
    claims: PairedClaims


RECIPE = RankGenRecipe
SCHEMAS = {"recipe.yaml": RankGenRecipe, "paired.yaml": RankGenPairedRecipe}
