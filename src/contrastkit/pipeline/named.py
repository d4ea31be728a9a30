"""``contrastkit train NAME|PATH``: find a recipe by name or path, and tell a reproduction recipe apart.

Named recipes are the packaged ``contrastkit/recipes/<name>.yaml`` files and each paper's
``papers/<pkg>/recipe.yaml``, found from any working directory. A paper's *reproduction* recipe (the
settings of ``contrastkit reproduce <paper>``: sweeps, claims, quick variants) is not a training
recipe; :func:`reproduction_of` names its paper so the CLI can say which command to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"
PAPERS_DIR = Path(__file__).resolve().parents[1] / "papers"
# keys that only the reproductions' recipes have (a training recipe is strictly validated without them)
REPRODUCTION_KEYS = frozenset({"claims", "quick", "arms", "reproduce", "seeds", "recipes", "windows"})


def recipe_names() -> list[str]:
    """The names ``contrastkit train NAME`` accepts: the packaged recipes and the papers with a recipe."""
    from contrastkit.papers import PAPERS

    names = {p.stem for p in RECIPES_DIR.glob("*.yaml")}
    names |= {name for name in PAPERS if (PAPERS_DIR / name.replace("-", "_") / "recipe.yaml").is_file()}
    return sorted(names)


def resolve_recipe(recipe: str | Path) -> Path:
    """``recipe`` as a file: an existing path as given, else a named recipe (``simclr-digits``,
    ``clip-digits.yaml``, a paper name).

    Raises:
        ValueError: neither a file nor a known name (the message lists the names).
    """
    path = Path(recipe)
    if path.exists():
        return path
    text = str(recipe)
    name = text[:-5] if text.endswith(".yaml") else text
    if path.parent.name == "recipes" and path.suffix == ".yaml":
        name = path.stem  # `recipes/simclr-digits.yaml` as the docs spell it, from any folder
    if "/" not in name and "\\" not in name and name:
        packaged = RECIPES_DIR / f"{name}.yaml"
        if packaged.is_file():
            return packaged
        paper = PAPERS_DIR / name.replace("-", "_") / "recipe.yaml"
        if paper.is_file():
            return paper
    raise ValueError(f"recipe: file not found: {text}, and no packaged recipe has that name; known names: "
                     f"{', '.join(recipe_names())}")


def _paper_of_folder(path: Path) -> str | None:
    try:
        relative = path.resolve().relative_to(PAPERS_DIR)
    except ValueError:
        return None
    from contrastkit.papers import PAPERS

    pkg = relative.parts[0] if len(relative.parts) > 1 else ""
    return next((name for name in PAPERS if name.replace("-", "_") == pkg), None)


def _paper_of_name(name: Any) -> str | None:
    """The paper whose folder holds a YAML file with ``name: <name>`` (``lit`` -> ``clip``)."""
    from contrastkit.papers import PAPERS

    if not isinstance(name, str):
        return None
    if name in PAPERS:
        return name
    import yaml

    for paper in PAPERS:
        for file in (PAPERS_DIR / paper.replace("-", "_")).glob("*.yaml"):
            try:
                data = yaml.safe_load(file.read_text())
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict) and data.get("name") == name:
                return paper
    return None


def reproduction_of(path: Path, data: Any) -> str | None:
    """The paper name if ``data`` (the YAML of ``path``) is a reproduction recipe, else ``None``."""
    if not isinstance(data, dict) or not REPRODUCTION_KEYS & set(data):
        return None
    return _paper_of_folder(path) or _paper_of_name(data.get("name")) or ""


def reproduction_message(path: Path, paper: str) -> str:
    """The one line the CLI prints for a reproduction recipe."""
    if not paper:
        return (f"recipe: {path} is a paper reproduction's settings file (it has keys such as claims / quick), not a "
                "training recipe; run: contrastkit papers, then contrastkit reproduce NAME")
    from contrastkit.papers import get_paper

    spec = get_paper(paper)
    return (f"recipe: {path} is the reproduction recipe of {spec.title} ({spec.citation}); "
            f"run: contrastkit reproduce {paper}")


__all__ = ["RECIPES_DIR", "recipe_names", "reproduction_message", "reproduction_of", "resolve_recipe"]
