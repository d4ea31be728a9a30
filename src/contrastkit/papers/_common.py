"""Where a paper's files live: ``papers/<package>/recipe.yaml`` (package = name with ``-`` -> ``_``), and how a
recipe's dotted keys are read (:func:`recipe_value`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PAPERS_ROOT = Path(__file__).resolve().parent


def package_name(name: str) -> str:
    """The Python package of paper ``name`` (``"sra-cl"`` -> ``"sra_cl"``)."""
    return name.replace("-", "_")


def recipe_path(name: str, root: Path | None = None) -> Path:
    """``<root>/<package>/recipe.yaml`` of paper ``name``, else ``<root>/<name>.yaml``, else an extra recipe
    ``<root>/*/<name>.yaml`` shipped in another paper's folder (e.g. ``clip/lit.yaml``).

    ``root`` defaults to the papers package. ``FileNotFoundError`` names the places looked at.
    """
    root = PAPERS_ROOT if root is None else Path(root)
    main = root / package_name(name) / "recipe.yaml"
    if main.is_file():
        return main
    flat = root / f"{name}.yaml"  # a flat folder of recipes (the pre-papers layout)
    if flat.is_file():
        return flat
    extra = sorted(root.glob(f"*/{name}.yaml"))
    if extra:
        return extra[0]
    raise FileNotFoundError(f"recipe: no recipe for {name!r} (looked for {main} and {root}/*/{name}.yaml)")


def read_recipe(name: str, root: Path | None = None) -> Any:
    """The YAML of :func:`recipe_path`, read with the bounded safe loader (plain data, no tags) and checked
    against the paper's strict schema (:func:`contrastkit.papers._schema.check_paper_yaml`: an unknown key
    or a wrong type raises ``RecipeError`` naming the dotted key)."""
    from contrastkit._yaml import load_yaml
    from contrastkit.papers._schema import check_paper_yaml

    path = recipe_path(name, root)
    return check_paper_yaml(load_yaml(path, source=str(path)), path)


def recipe_value(recipe: dict[str, Any], path: str, quick: bool = False) -> Any:
    """The value at the dotted ``path`` of ``recipe``; a missing key raises ``ValueError`` naming it.

    With ``quick``, an entry ``quick.<key>`` overrides ``training.<key>``.
    """
    head, _, key = path.partition(".")
    overrides = recipe.get("quick") or {}
    if quick and head == "training" and isinstance(overrides, dict) and key in overrides:
        return overrides[key]
    node: Any = recipe
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"recipe {recipe.get('name')!r}: missing required key {path!r}")
        node = node[part]
    return node
