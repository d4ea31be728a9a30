"""contrastkit: contrastive representation learning as composable parts.

``import contrastkit as ck`` gives the core (``ck.functional``, ``ck.losses``, ``ck.mining``)
immediately; the heavier packages (``ck.evaluate``, ``ck.vision``, ``ck.methods``, ...) load on
first use, so importing the core never pulls in scikit-learn, Lightning or transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

from contrastkit import functional, losses, mining

__version__ = "0.1.0"

_LAZY = ("evaluate", "vision", "timeseries", "multimodal", "text", "methods", "generation", "pipeline", "reproduce",
         "pretrained")
_PRETRAINED = ("save_pretrained", "from_pretrained", "encode")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"contrastkit.{name}")
    if name in ("load_model", "load_run"):
        return getattr(importlib.import_module("contrastkit.pipeline.runfolder"), name)
    if name == "fit":
        return importlib.import_module("contrastkit.fitting").fit
    if name in _PRETRAINED:
        return getattr(importlib.import_module("contrastkit.pretrained"), name)
    raise AttributeError(f"module 'contrastkit' has no attribute {name!r}")


__all__ = ["__version__", "fit", "functional", "load_model", "load_run", "losses", "mining", *_LAZY, *_PRETRAINED]
