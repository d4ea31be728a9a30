"""YAML recipes, validated strictly: an unknown key or a wrong type is an error naming the key.

Strict means no coercion: ``"200"`` is not an integer, ``true`` is not a seed, ``"yes"`` is not a
boolean, and a float must be finite (``.inf`` / ``.nan`` are refused at load). **Floats in YAML:**
PyYAML implements YAML 1.1, which reads ``1e-3`` (no dot) as the *string* ``"1e-3"``; numeric strings
are not accepted, so write ``1.0e-3`` or ``0.001`` (the error for such a string says so). A seed is an
integer in ``[0, 2**32 - 1]`` (the range numpy and scikit-learn accept).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contrastkit._yaml import YAMLLimitError, load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, allow_inf_nan=False)


Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class DataConfig(_Strict):
    dataset: str = "digits_canvas"
    kwargs: dict[str, Any] = Field(default_factory=dict)
    augment: Literal["canvas", "fashion_mnist", "digits"] = "canvas"


class ModelConfig(_Strict):
    encoder: str = "small_cnn"
    encoder_kwargs: dict[str, Any] = Field(default_factory=dict)
    projector_hidden_dim: int = Field(128, gt=0)
    projector_out_dim: int = Field(64, gt=0)


class MethodConfig(_Strict):
    # byol / simsiam / barlow_twins / vicreg / dino have their own objective: loss and loss_kwargs are unused
    name: Literal["simclr", "supcon", "moco", "byol", "simsiam", "barlow_twins", "vicreg", "dino"] = "simclr"
    loss: Literal["infonce", "dcl", "dclw", "cacr", "hard_infonce", "simple"] = "infonce"
    loss_kwargs: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0.2})
    n_views: int = Field(2, ge=2)
    queue_size: int = Field(4096, gt=0)  # moco only
    momentum: float = Field(0.99, ge=0, le=1)  # moco: EMA momentum; byol / dino: base of the cosine schedule to 1


class OptimConfig(_Strict):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    optimizer: Literal["adam", "adamw", "sgd", "lars"] = "adamw"
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd / lars only
    schedule: Literal["constant", "warmup_cosine"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    final_lr_factor: float = Field(0.0, ge=0, le=1)


class TrainerConfig(_Strict):
    max_steps: int = Field(400, gt=0)
    batch_size: int = Field(128, gt=1)
    precision: Literal["32", "64", "bf16-mixed", "16-mixed", "32-true", "64-true"] = "32"
    devices: int = Field(1, gt=0)
    strategy: str = "auto"
    num_nodes: int = Field(1, gt=0)
    accelerator: str = "auto"  # a GPU when one is present, else the CPU
    checkpoint_every_n_steps: int = Field(100, gt=0)
    log_every_n_steps: int = Field(10, gt=0)
    num_threads: int | None = Field(None, gt=0)
    accumulate_grad_batches: int = Field(1, gt=0)  # mean of micro-batch losses; negatives stay per micro-batch
    wandb: bool = False  # also log to Weights & Biases, offline (needs the wandb extra)
    monitor: str | None = None  # keep checkpoints/best.ckpt by this logged metric (e.g. train_loss)
    monitor_mode: Literal["min", "max"] = "min"
    early_stop_patience: int | None = Field(None, gt=0)  # with monitor: stop after this many checks without gain


class EvalConfig(_Strict):
    knn_k: int = Field(20, gt=0)
    baselines: bool = True
    max_train_samples: int | None = Field(None, gt=0)


class Recipe(_Strict):
    name: str = "run"
    seed: Seed = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    method: MethodConfig = Field(default_factory=MethodConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)


class RecipeError(ValueError):
    """A recipe that does not validate; the message names the offending keys."""


def parse_recipe(data: dict[str, Any], source: str = "recipe") -> Recipe:
    """Validate a recipe mapping; errors name each bad key by its dotted path."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            got = e.get("input")
            if e["type"] == "extra_forbidden":
                problems.append(f"{key}: unknown key")
            else:
                problems.append(f"{key}: {e['msg']} (got {_bounded_repr(got)}){_numeric_string_hint(e['type'], got)}")
        raise RecipeError(f"{source}: invalid recipe\n  " + "\n  ".join(problems)) from None


def _numeric_string_hint(kind: str, value: Any) -> str:
    """Why a number written in YAML arrived as a string (see the module docstring)."""
    if not isinstance(value, str) or kind not in ("float_type", "int_type"):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    return ("; YAML 1.1 reads 1e-3 as a string: write 1.0e-3" if kind == "float_type"
            else "; quoted numbers are strings: remove the quotes")


def _bounded_repr(value: Any, limit: int = 120) -> str:
    import reprlib

    r = reprlib.Repr()  # bounded: a value built from YAML aliases may be huge when printed in full
    r.maxlevel, r.maxdict, r.maxlist, r.maxstring, r.maxother = 3, 6, 6, 60, 60
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Load a YAML recipe with the bounded safe loader (``contrastkit._yaml``) and apply overrides."""
    path = Path(path)
    if not path.is_file():
        kind = "is a folder, not a file" if path.is_dir() else "file not found"
        raise RecipeError(f"recipe: {kind}: {path}")
    try:
        data = load_yaml(path, source=f"recipe: {path}")
    except YAMLLimitError as err:
        raise RecipeError(str(err)) from None
    if data is None:  # an empty file is a mistake, not "train every default" (a 400-step SimCLR run)
        raise RecipeError(f"recipe: {path}: the file is empty; expected a mapping such as "
                          "'method: {name: simclr}' (see the packaged recipes: contrastkit train --help)")
    if not isinstance(data, dict):
        raise RecipeError(f"recipe: {path}: expected a mapping at the top level, got {type(data).__name__}")
    for item in overrides or []:
        apply_override(data, item)
    return parse_recipe(data, str(path))


def apply_override(data: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in a nested mapping; the value is parsed as YAML (numbers, lists)."""
    if "=" not in item:
        raise RecipeError(f"--set: expected key.path=value, got {_bounded_repr(item)}")
    key, value = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise RecipeError(f"--set: expected a dotted key such as trainer.max_steps, got {_bounded_repr(key)}")
    node = data
    for depth, part in enumerate(parts[:-1]):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError(f"--set {key}: {'.'.join(parts[:depth + 1])} is not a mapping")
    try:
        node[parts[-1]] = load_yaml(value, max_bytes=10_000, max_depth=16, max_aliases=0,
                                    source=f"--set {key}")
    except YAMLLimitError as err:
        raise RecipeError(str(err)) from None
