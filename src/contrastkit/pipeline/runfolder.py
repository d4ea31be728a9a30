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
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.pipeline.checkpoint import atomic_write_bytes
from contrastkit.pipeline.recipe import Recipe, parse_recipe

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
    tmp.replace(run_dir / MODEL_FILE)
    config = {"recipe": recipe.model_dump(), "input_shape": list(shape), "format": "contrastkit-run/1"}
    write_json(run_dir / CONFIG_FILE, config)


def load_run(run_dir: str | Path) -> tuple[EncoderWithHead, Recipe]:
    """Rebuild the encoder + projector of a run from ``config.json`` and ``model.safetensors``."""
    from contrastkit.pipeline.builders import build_model

    run_dir = Path(run_dir)
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"run_dir: {run_dir} has no {name}; is it a contrastkit run folder?")
    config = json.loads((run_dir / CONFIG_FILE).read_text())
    recipe = parse_recipe(config["recipe"], str(run_dir / CONFIG_FILE))
    channels, size = config["input_shape"][0], config["input_shape"][-1]
    model = build_model(recipe.model, channels, size)
    model.load_state_dict(load_file(str(run_dir / MODEL_FILE)))
    model.eval()
    return model, recipe


def load_model(run_dir: str | Path) -> EncoderWithHead:
    """One call: the trained encoder + projection head of a run folder, in eval mode."""
    return load_run(run_dir)[0]
