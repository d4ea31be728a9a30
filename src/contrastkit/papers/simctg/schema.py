"""The strict schemas of ``papers/simctg/recipe.yaml`` (the miniature's settings,
:class:`contrastkit.papers.simctg.reproduce.SimCTGRecipe`) and ``papers/simctg/paired.yaml`` (the paired
per-seed claims), checked whenever either is loaded."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contrastkit.papers._schema import FiniteFloat, PairedClaimSection, PaperRecipe, Section, StrictSeed
from contrastkit.papers.simctg.reproduce import SimCTGRecipe


class PairedQuick(Section):
    seeds: list[StrictSeed] = Field(min_length=1)


class PairedClaims(Section):
    greedy_rep2_min: FiniteFloat
    isotropy: PairedClaimSection
    rep2: PairedClaimSection


class SimCTGPairedRecipe(PaperRecipe):
    """``papers/simctg/paired.yaml``: the seeds and the claims of the paired per-seed decision."""

    quick_mode: ClassVar[str] = "typed"
    quick: PairedQuick
    claims: PairedClaims


RECIPE = SimCTGRecipe
SCHEMAS = {"recipe.yaml": SimCTGRecipe, "paired.yaml": SimCTGPairedRecipe}
