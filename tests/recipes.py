"""Shared test recipes: the tiny SimCLR-on-digits run the pipeline, CLI and reliability tests train."""

from __future__ import annotations

from typing import Any


def tiny_recipe(max_steps: int = 12) -> dict[str, Any]:
    """A fresh plain-data recipe: SimCLR, a ``[8, 16]`` small CNN on digits, batch 32, ``max_steps`` steps
    with a checkpoint every 4 and no baselines (seconds on one CPU core)."""
    return {
        "name": "tiny",
        "seed": 3,
        "data": {"dataset": "digits", "augment": "canvas"},
        "model": {"encoder": "small_cnn", "encoder_kwargs": {"widths": [8, 16]}, "projector_out_dim": 16},
        "method": {"name": "simclr", "loss": "infonce", "loss_kwargs": {"temperature": 0.2}},
        "trainer": {"max_steps": max_steps, "batch_size": 32, "checkpoint_every_n_steps": 4, "log_every_n_steps": 1},
        "evaluate": {"baselines": False},
    }
