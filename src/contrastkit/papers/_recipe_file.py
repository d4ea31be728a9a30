"""Read a paper folder's ``recipe.yaml`` (plain data, ``yaml.safe_load``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_paper_recipe(folder: str | Path, name: str) -> dict[str, Any]:
    """The mapping in ``<folder>/recipe.yaml``; its ``name`` key must be ``name``.

    Raises:
        ValueError: the file is not a mapping or names another paper.
    """
    import yaml

    path = Path(folder) / "recipe.yaml"
    recipe = yaml.safe_load(path.read_text())
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe {path}: expected a mapping at the top level, got {type(recipe).__name__}")
    if recipe.get("name") != name:
        raise ValueError(f"recipe {path}: expected the key 'name: {name}', got {recipe.get('name')!r}")
    return recipe
