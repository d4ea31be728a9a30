"""The recipe schema of the paper reproductions: strict pydantic models, errors named by dotted key.

Every recipe has ``name``, ``seeds``, then the paper's typed sections (``data``, ``model``,
``trainer``, ``arms``, ``claims``) and a ``quick`` mapping whose entries are deep-merged over the
other sections for ``--quick`` runs (it is validated by the same models after the merge); a ``null``
in ``quick`` removes that key (e.g. an arm the quick run leaves out).

Strict means no coercion: ``"200"`` is not an integer, ``true`` is not a seed, ``"yes"`` is not a
boolean, and a float must be finite (``.inf`` / ``.nan`` are rejected at load). An unknown key is an
error. **Floats in YAML:** PyYAML implements YAML 1.1, which reads ``1e-3`` (no dot) as the *string*
``"1e-3"``; this schema does not accept numeric strings, so write ``1.0e-3`` or ``0.001``. The error
for such a string says so.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contrastkit._yaml import load_yaml
from contrastkit.papers._common import PAPERS_ROOT, package_name, recipe_path

StrictSeed = Annotated[int, Field(strict=True, ge=0)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0)]


class Section(BaseModel):
    """A recipe section: unknown keys and coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PaperRecipe(Section):
    """The sections every paper recipe has; a paper subclasses it with typed ``data`` / ``model`` / ...

    ``quick_mode`` says how its ``quick`` section applies: ``"merge"`` (deep-merged over the other sections,
    both variants validated) or ``"typed"`` (a flat mapping of override keys the paper reads itself, e.g.
    ``max_steps``; the subclass types ``quick`` with a :class:`Section` naming them).
    """

    quick_mode: ClassVar[Literal["merge", "typed"]] = "merge"
    name: str
    seeds: list[StrictSeed] = Field(min_length=1)
    quick: dict[str, Any] = Field(default_factory=dict)


Prob = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1.0)]


class PairedClaimSection(Section):
    """A claim decided by a paired one-sided t-test over seeds (:func:`contrastkit.papers._claims.paired`):
    ``margin`` (method - baseline must exceed it), ``alpha``, ``power``; ``paper_effect`` the effect the
    design's minimum detectable effect is compared with (the power precondition), when the claim has one."""

    margin: FiniteFloat = 0.0
    alpha: Annotated[float, Field(strict=True, gt=0.0, lt=1.0)] = 0.05
    power: Annotated[float, Field(strict=True, gt=0.0, lt=1.0)] = 0.8
    paper_effect: PositiveFloat | None = None


class ImageEncoderSection(Section):
    """A :class:`contrastkit.vision.encoders.SmallCNN` tower: channel ``widths``, pooling between blocks."""

    widths: list[PositiveInt] = Field(min_length=1)
    pool_between: bool = False


class CanvasAugmentSection(Section):
    """Canvas augmentations (shift, intensity range, Gaussian noise, optional erasing square)."""

    max_shift: Annotated[int, Field(strict=True, ge=0)]
    intensity: list[PositiveFloat] = Field(min_length=2, max_length=2)
    noise_std: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]
    erase_size: Annotated[int, Field(strict=True, ge=0)] | None = None


class StepTrainerSection(Section):
    """A reproduction's optimiser loop: ``max_steps`` steps of ``batch_size`` rows at learning rate ``lr``."""

    max_steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class SmokeQuickSection(Section):
    """The flat ``quick`` overrides of a smoke run: its seeds, steps and data subset sizes."""

    seeds: list[StrictSeed] = Field(default_factory=list)
    max_steps: PositiveInt | None = None
    n_train: PositiveInt | None = None
    n_test: PositiveInt | None = None


class LightningTrainerSection(Section):
    """``lightning.Trainer`` keyword arguments a recipe may set (see :func:`contrastkit.training.make_trainer`)."""

    accelerator: str = "cpu"
    devices: PositiveInt = 1
    enable_checkpointing: bool = False
    logger: bool = False


class TSEncoderSection(Section):
    """A :class:`contrastkit.timeseries.TSEncoder` (``type`` is documentation); ``head_*``: a projection MLP."""

    type: str
    hidden_dims: PositiveInt
    repr_dims: PositiveInt
    depth: PositiveInt
    mask_mode: str
    head_hidden: PositiveInt | None = None
    head_out: PositiveInt | None = None


class RecipeError(ValueError):
    """A recipe that does not validate; the message names every bad key by its dotted path."""


R = TypeVar("R", bound=PaperRecipe)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:  # a quick override of null drops the key (an arm left out of the quick run)
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _explain(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    got = err.get("input")
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if err["type"] == "missing":
        return f"{key}: missing required key"
    hint = ""
    if isinstance(got, str) and err["type"] in ("float_type", "int_type", "float_parsing", "int_parsing"):
        try:
            float(got)
            hint = (" (YAML 1.1 reads 1e-3 as a string: write 1.0e-3)" if err["type"].startswith("float")
                    else " (quoted numbers are strings; remove the quotes)")
        except ValueError:
            pass
    return f"{key}: {err['msg']}, got {got!r}{hint}"


class TrainingSectionRecipe(Section):
    """A recipe whose ``quick`` mapping overrides keys of its ``training`` section (the time-series and
    sequential-recommendation reproductions; seeds in ``training.seeds``)."""

    quick_mode: ClassVar[Literal["merge", "typed", "training"]] = "training"
    name: str
    reproduce: str
    quick: dict[str, Any] = Field(default_factory=dict)


S = TypeVar("S", bound=Section)


def parse_paper_recipe(data: Any, model: type[S], *, quick: bool = False, source: str = "recipe",
                       quick_into: str | None = None) -> S:
    """Validate a recipe mapping against ``model``; ``quick`` returns it with the ``quick`` section deep-merged
    over the other sections (``quick_into="training"``: over that one section). Both variants are always
    validated."""
    if data is None:
        raise RecipeError(f"{source}: the file is empty; expected the recipe mapping (name, seeds, ...)")
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    over = data.get("quick", {})
    if not isinstance(over, dict):
        raise RecipeError(f"{source}: quick: expected a mapping, got {type(over).__name__}")
    # both variants are validated, so a bad quick override fails a full load as well (and vice versa)
    if quick_into is not None:
        section = data.get(quick_into)
        over = {quick_into: over} if isinstance(section, dict) else {}
    variants = {False: data, True: _merge(data, over)}
    parsed: dict[bool, S] = {}
    for is_quick, merged in variants.items():
        try:
            parsed[is_quick] = model.model_validate(merged)
        except ValidationError as err:
            where = " (with the quick overrides)" if is_quick else ""
            problems = "\n  ".join(_explain(e) for e in err.errors())
            raise RecipeError(f"{source}: invalid recipe{where}\n  {problems}") from None
    return parsed[quick]


def load_paper_recipe(name: str, model: type[R], *, quick: bool = False, path: str | Path | None = None) -> R:
    """``papers/<name>/recipe.yaml`` (or ``path``), read with the bounded safe loader and validated strictly."""
    file = Path(path) if path is not None else recipe_path(name)
    try:
        data = load_yaml(file, source=str(file))
    except ValueError as err:  # syntax, tags and size / depth / alias limits (contrastkit._yaml)
        raise RecipeError(str(err)) from None
    recipe = parse_paper_recipe(data, model, quick=quick, source=str(file))
    if recipe.name != name:
        raise RecipeError(f"{file}: name: expected {name!r}, got {recipe.name!r}")
    return recipe


def schema_for(path: str | Path, name: str | None = None) -> type[Section] | None:
    """The schema of the paper file ``path``: ``SCHEMAS[path.name]`` of ``papers/<folder>/schema.py`` (the
    file's folder, else the package of the recipe's ``name``: a recipe copied elsewhere keeps its schema);
    ``None`` when neither folder has one."""
    import importlib

    path = Path(path)
    for pkg in dict.fromkeys([path.parent.name] + ([package_name(name)] if isinstance(name, str) else [])):
        if not (PAPERS_ROOT / pkg / "schema.py").is_file():
            continue
        mod = importlib.import_module(f"contrastkit.papers.{pkg}.schema")
        schemas = getattr(mod, "SCHEMAS", {"recipe.yaml": getattr(mod, "RECIPE", None)})
        if schemas.get(path.name) is not None:
            return schemas[path.name]
    return None


def check_paper_yaml(data: Any, path: str | Path, model: type[Section] | None = None) -> Any:
    """Validate the plain data ``data`` read from ``path`` against its schema (``model``, else
    :func:`schema_for`) and return it unchanged; :class:`RecipeError` names every bad key by its dotted
    path. A file whose folder has no schema is returned unchecked."""
    name = data.get("name") if isinstance(data, dict) else None
    model = schema_for(path, name) if model is None else model
    if model is None:
        return data
    mode = getattr(model, "quick_mode", "merge")
    if data is None:
        raise RecipeError(f"{path}: the file is empty; expected the recipe mapping (name, seeds, ...)")
    if mode == "typed":
        if not isinstance(data, dict):
            raise RecipeError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
        try:
            model.model_validate(data)
        except ValidationError as err:
            problems = "\n  ".join(_explain(e) for e in err.errors())
            raise RecipeError(f"{path}: invalid recipe\n  {problems}") from None
    else:
        parse_paper_recipe(data, model, source=str(path), quick_into="training" if mode == "training" else None)
    return data


__all__ = ["CanvasAugmentSection", "FiniteFloat", "ImageEncoderSection", "LightningTrainerSection",
           "PairedClaimSection", "PaperRecipe", "PositiveFloat", "PositiveInt", "Prob", "RecipeError", "Section",
           "SmokeQuickSection", "StepTrainerSection", "StrictSeed", "TSEncoderSection", "TrainingSectionRecipe",
           "check_paper_yaml", "load_paper_recipe", "parse_paper_recipe", "schema_for"]
