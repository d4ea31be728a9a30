"""Read a YAML file of a paper folder (plain data, bounded safe loader, checked against the paper's strict
schema), e.g. a reproduction's sweep settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_paper_yaml(folder: str | Path, name: str, filename: str = "reproduce.yaml") -> dict[str, Any]:
    """The mapping in ``<folder>/<filename>``; its ``name`` key must be ``name``.

    Raises:
        RecipeError (a ``ValueError``): the file is empty, not a mapping or names another paper;
            an unknown key or a wrong type, named by its dotted key
            (:func:`contrastkit.papers._schema.check_paper_yaml`).
    """
    from contrastkit._yaml import load_yaml
    from contrastkit.papers._schema import RecipeError, check_paper_yaml

    path = Path(folder) / filename
    data = load_yaml(path, source=str(path))
    if data is None:
        raise RecipeError(f"{path}: the file is empty; expected a mapping with 'name: {name}'")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    if data.get("name") != name:
        raise RecipeError(f"{path}: expected the key 'name: {name}', got {data.get('name')!r}")
    return check_paper_yaml(data, path)
