"""The run folder a user shares: weights (safetensors), config, metrics, report, checkpoints, logs.

::

    run/
      model.safetensors   encoder + projector weights (no pickle)
      config.json         the validated recipe plus what is needed to rebuild the model
      metrics.json        evaluation next to the baselines
      report.md, *.png    human-readable summary with plots
      checkpoints/        Lightning checkpoints (last.ckpt, step-N.ckpt), written atomically
      logs/               CSV (and TensorBoard when installed)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.pipeline.checkpoint import atomic_write_bytes, default_file_mode
from contrastkit.pipeline.recipe import ModelConfig, Recipe, parse_recipe

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, default=float) + "\n").encode())


def save_model(run_dir: str | Path, model: EncoderWithHead, recipe: Recipe, shape: tuple[int, ...]) -> None:
    """Write ``model.safetensors`` and ``config.json`` (recipe + input shape)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = run_dir / f".{MODEL_FILE}.tmp"
    save_file(state, str(tmp))
    os.chmod(tmp, default_file_mode())  # safetensors creates 0600 files; a run folder follows the umask
    tmp.replace(run_dir / MODEL_FILE)
    config = {"recipe": recipe.model_dump(), "input_shape": list(shape), "format": "contrastkit-run/1"}
    write_json(run_dir / CONFIG_FILE, config)


MAX_MODEL_BYTES = 16 * 2**30  # refuse to allocate more than this for a run's weights (16 GiB)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _read_config(path: Path) -> tuple[dict[str, Any], tuple[int, ...]]:
    """``(recipe mapping, input shape)`` from a run's ``config.json``, every field checked."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"config.json: cannot read {path} ({err.strerror or err})") from None
    if len(raw) > 1_000_000:
        raise ValueError(f"config.json: {path} is {len(raw)} bytes, more than the 1000000 accepted")
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"config.json: {path} is not valid JSON ({err})") from None
    except RecursionError:
        raise ValueError(f"config.json: {path} is nested too deeply") from None
    if not isinstance(config, dict):
        raise ValueError(f"config.json: expected a JSON object, got {type(config).__name__}")
    if not isinstance(config.get("recipe"), dict):
        raise ValueError(f"config.json: {path} has no 'recipe' object; is it a contrastkit run folder?")
    shape = config.get("input_shape")
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 65536 for v in shape)):
        raise ValueError(f"config.json: input_shape: expected [channels, height, width] of positive integers, "
                         f"got {_describe(shape)}")
    return config["recipe"], tuple(shape)


def model_bytes(config: ModelConfig, in_channels: int, image_size: int) -> tuple[int, dict[str, tuple]]:
    """Bytes of the weights ``build_model`` would allocate, and each entry's ``(shape, dtype)``.

    The model is built on the ``meta`` device, so nothing is allocated whatever the config asks for.
    """
    from contrastkit.pipeline.builders import build_model

    with torch.device("meta"):
        meta = build_model(config, in_channels, image_size)
    entries = {k: (tuple(v.shape), v.dtype) for k, v in meta.state_dict().items()}
    total = sum(math.prod(shape) * dtype.itemsize for shape, dtype in entries.values())
    return total, entries


def check_model_size(config: ModelConfig, in_channels: int, image_size: int,
                     limit: int = MAX_MODEL_BYTES) -> dict[str, tuple]:
    """Refuse a model config whose weights exceed ``limit`` bytes, before any allocation."""
    total, entries = model_bytes(config, in_channels, image_size)
    if total > limit:
        raise ValueError(f"model: the config asks for {total / 2**30:.1f} GiB of weights, more than the "
                         f"{limit / 2**30:.0f} GiB accepted (check model.encoder_kwargs / projector dims)")
    return entries


_SAFETENSORS_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
                       "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                       "U8": torch.uint8, "BOOL": torch.bool}


def _check_weights_file(path: Path, expected: dict[str, tuple]) -> None:
    """Compare the safetensors header (keys, shapes, dtypes, sizes) with the model before reading data."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            keys = set(fh.keys())
            header = {k: fh.get_slice(k) for k in keys}
            found = {k: (tuple(sl.get_shape()), sl.get_dtype()) for k, sl in header.items()}
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"model.safetensors: {path} is not a readable safetensors file "
                         f"({' '.join(str(err).split())[:160]})") from None
    missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}"] if extra else [])
        raise ValueError(f"model.safetensors: keys do not match the model of config.json ({'; '.join(parts)})")
    for key, (shape, dtype) in expected.items():
        got_shape, got_dtype = found[key]
        if got_shape != shape or _SAFETENSORS_DTYPES.get(got_dtype) != dtype:
            raise ValueError(f"model.safetensors: {key}: expected shape {list(shape)} {dtype}, "
                             f"got {list(got_shape)} {got_dtype}")


def load_run(run_dir: str | Path) -> tuple[EncoderWithHead, Recipe]:
    """Rebuild the encoder + projector of a run from ``config.json`` and ``model.safetensors``.

    Everything is checked before the weights are allocated: the config (valid JSON, a valid recipe,
    a ``[C, H, W]`` input shape), the model size (:func:`check_model_size`) and the safetensors header
    (same keys, shapes and dtypes as the model). A bad folder is a ``ValueError`` naming the file.
    """
    from contrastkit.pipeline.builders import build_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run_dir: {run_dir} is not a folder")
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"run_dir: {run_dir} has no {name}; is it a contrastkit run folder?")
    recipe_data, shape = _read_config(run_dir / CONFIG_FILE)
    recipe = parse_recipe(recipe_data, str(run_dir / CONFIG_FILE))
    channels, size = shape[0], shape[-1]
    expected = check_model_size(recipe.model, channels, size)
    _check_weights_file(run_dir / MODEL_FILE, expected)
    model = build_model(recipe.model, channels, size)
    try:
        state = load_file(str(run_dir / MODEL_FILE))
        model.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - the header matched, so this is a truncated or damaged payload
        raise ValueError(f"model.safetensors: {run_dir / MODEL_FILE} is damaged "
                         f"({' '.join(str(err).split())[:160]})") from None
    for key, value in state.items():  # NaN weights would only surface later as NaN embeddings
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"model.safetensors: {key}: contains NaN or inf weights")
    model.eval()
    return model, recipe


def load_model(run_dir: str | Path) -> EncoderWithHead:
    """One call: the trained encoder + projection head of a run folder, in eval mode."""
    return load_run(run_dir)[0]
