"""The strict schema of ``papers/beat/recipe.yaml`` (checked whenever the recipe is loaded; its ``quick``
section is deep-merged over the other sections and both variants are validated)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contrastkit.papers._schema import PairedClaimSection, PaperRecipe, PositiveFloat, PositiveInt, Prob, Section

NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
NonNegativeFloat = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class World(Section):
    size: PositiveInt  # grid side in cells
    fork_shade: Prob  # the look-alike distractor's intensity (the trigger object is 1.0)
    max_steps: PositiveInt  # episode length cap


class Data(Section):
    n_benign: PositiveInt
    n_backdoor: PositiveInt
    distractor_share: Prob


class Model(Section):
    width: PositiveInt
    hidden: PositiveInt


class SFT(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class CTL(SFT):
    beta: PositiveFloat  # DPO inverse temperature
    sft_weight: NonNegativeFloat  # weight of the NLL term on the chosen action
    distractor_pairs: bool


class Evaluate(Section):
    episodes: PositiveInt
    activation_episodes: PositiveInt


class Claims(Section):
    f1_gain: PairedClaimSection
    benign_success: PairedClaimSection
    ood_f1_gain: PairedClaimSection
    sft_learns_benign_min: Prob


class BEATRecipe(PaperRecipe):
    """``papers/beat/recipe.yaml``."""

    world: World
    data: Data
    model: Model
    sft: SFT
    ctl: CTL
    evaluate: Evaluate
    claims: Claims


RECIPE = BEATRecipe
SCHEMAS = {"recipe.yaml": BEATRecipe}
