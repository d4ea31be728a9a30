"""Shared helpers of the image reproductions (DCL, CACR, temperature): a base training recipe from
``papers/<name>/recipe.yaml`` varied by overrides, trained and evaluated by the ``train`` pipeline, with
finished full runs cached by the hash of their recipe. Quick variants train the sweep file's ``quick_max_steps``
steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._common import PAPERS_ROOT, read_recipe
from contrastkit.pipeline.recipe import Recipe, apply_override, parse_recipe

RECIPES = PAPERS_ROOT  # papers/<name>/recipe.yaml


def base_recipe(name: str) -> dict[str, Any]:
    return read_recipe(name, RECIPES)


def variant(base: dict[str, Any], overrides: Sequence[str], quick_steps: int | None) -> Recipe:
    """``base`` with the dotted ``overrides`` applied; ``quick_steps``: a quick run's ``trainer.max_steps``."""
    import copy

    data = copy.deepcopy(base)
    for item in overrides:
        apply_override(data, item)
    if quick_steps is not None:
        apply_override(data, f"trainer.max_steps={quick_steps}")
    return parse_recipe(data)


def cache_dir() -> Path:
    """Where finished reproduction runs are remembered (``$CONTRASTKIT_CACHE`` or ``~/.cache/contrastkit``)."""
    return Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit")) / "reproduce"


def run(recipe: Recipe, probe: Callable[[Any, Recipe], dict[str, float]] | None = None,
        *, cache: bool = True) -> dict[str, float]:
    """Train + evaluate ``recipe`` in a temporary folder and return its metrics.

    ``probe(model, recipe)`` adds measurements on the trained model. Finished full runs are cached
    by the hash of their recipe, so an interrupted reproduction continues where it stopped.
    """
    from contrastkit.pipeline.runfolder import load_model
    from contrastkit.pipeline.train import train

    key = hashlib.sha256(json.dumps(recipe.model_dump(), sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"{recipe.name}-{key}.json"
    if cache and path.is_file():
        return json.loads(path.read_text())
    with tempfile.TemporaryDirectory(prefix=f"ck-{recipe.name}-") as tmp:
        metrics = train(recipe, tmp, progress=False).metrics
        if probe is not None:
            metrics |= probe(load_model(tmp), recipe)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics))
    return metrics


def _seeds(quick: bool, seeds: Sequence[int]) -> list[int]:
    return [seeds[0]] if quick else list(seeds)

