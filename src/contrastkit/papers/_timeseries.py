"""Shared helpers of the time-series reproductions (AutoTCL, COMET, DBPM, forecasting probe).

Each reproduction reads its plain-data recipe ``papers/<name>/recipe.yaml`` (the single source of every
setting and claim threshold) with :func:`load_recipe`; ``_get``
(:func:`contrastkit.papers._common.recipe_value`) reads a dotted key and names a missing one; ``quick`` entries
override ``training.<key>``. Data are the sets bundled with aeon.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
from torch import Tensor

from contrastkit.papers._common import PAPERS_ROOT, read_recipe
from contrastkit.papers._common import recipe_value as _get  # re-exported for the reproductions
from contrastkit.papers._schema import RecipeError
from contrastkit.timeseries.encoder import TSEncoder
from contrastkit.training.fit import make_trainer

RECIPES = PAPERS_ROOT  # papers/<name>/recipe.yaml


_ENCODER_KEYS = ("hidden_dims", "repr_dims", "depth", "mask_mode")


def load_recipe(name: str) -> dict[str, Any]:
    """The plain-data recipe ``recipes/<name>.yaml`` (``yaml.safe_load``); its ``name`` must match."""
    recipe = read_recipe(name, RECIPES)
    if not isinstance(recipe, dict):
        raise RecipeError(f"recipe {name!r}: expected a mapping at the top level, got {type(recipe).__name__}")
    if recipe.get("name") != name:
        raise RecipeError(f"recipe {name!r}: expected the key 'name: {name}', got {recipe.get('name')!r}")
    check_recipe(name, recipe)
    return recipe


def check_recipe(name: str, recipe: dict[str, Any]) -> None:
    """Validate ``recipe`` (and its quick variant) against ``papers/<name>/schema.py:RECIPE`` (strict: an
    unknown key or a wrong type raises :class:`contrastkit.papers._schema.RecipeError` naming the dotted key)."""
    import importlib

    from contrastkit.papers._common import package_name
    from contrastkit.papers._schema import parse_paper_recipe

    schema = importlib.import_module(f"contrastkit.papers.{package_name(name)}.schema").RECIPE
    parse_paper_recipe(recipe, schema, source=f"recipe {name!r}", quick_into="training")


def _seeds(recipe: dict[str, Any], quick: bool, seeds: Sequence[int] | None) -> tuple[int, ...]:
    chosen = tuple(_get(recipe, "training.seeds") if seeds is None else seeds)
    return chosen[:1] if quick else chosen


def _trainer(trainer: dict[str, Any], **kwargs: Any) -> L.Trainer:
    """The recipe's ``training.trainer`` section through :func:`contrastkit.training.make_trainer`."""
    return make_trainer(trainer, **kwargs)


def _probe(train_emb: Tensor, train_y: Tensor, test_emb: Tensor, test_y: Tensor) -> float:
    from contrastkit.evaluate import linear_probe

    return float(linear_probe(train_emb, train_y, test_emb, test_y))


def _encoder(channels: int, enc: dict[str, Any]) -> TSEncoder:
    return TSEncoder(channels, output_dims=enc["repr_dims"], hidden_dims=enc["hidden_dims"],
                     depth=enc["depth"], mask_mode=enc["mask_mode"])

