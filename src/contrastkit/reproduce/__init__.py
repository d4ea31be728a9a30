"""Paper miniatures with their claims checked over seeds: ``contrastkit reproduce NAME``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from contrastkit.reproduce.result import Claim, ReproResult

# name -> "module:function"; modules are imported lazily so optional extras stay optional.
REGISTRY: dict[str, str] = {
    "dcl": "contrastkit.reproduce.vision:dcl",
    "cacr": "contrastkit.reproduce.vision:cacr",
    "temperature": "contrastkit.reproduce.vision:temperature",
    "autotcl": "contrastkit.reproduce.timeseries:autotcl",
    "comet": "contrastkit.reproduce.timeseries:comet",
    "dbpm": "contrastkit.reproduce.timeseries:dbpm",
    "forecasting": "contrastkit.reproduce.timeseries:forecasting",
    "simctg": "contrastkit.reproduce.generation:simctg",
    "rankgen": "contrastkit.reproduce.generation:rankgen",
    "claps": "contrastkit.reproduce.generation:claps",
    "clip": "contrastkit.reproduce.multimodal:clip",
    "cwcl": "contrastkit.reproduce.multimodal:cwcl",
    "fini": "contrastkit.reproduce.multimodal:fini",
    "hydra": "contrastkit.reproduce.multimodal:hydra",
    "sepclr": "contrastkit.reproduce.multimodal:sepclr",
    "supremix": "contrastkit.reproduce.multimodal:supremix",
    "cl4srec": "contrastkit.reproduce.seqrec:cl4srec",
    "sra-cl": "contrastkit.reproduce.seqrec:sra_cl",
    "mclrec": "contrastkit.reproduce.seqrec:mclrec",
}


def get_reproduction(name: str) -> Callable[..., ReproResult]:
    """The reproduction function registered under ``name``."""
    if name not in REGISTRY:
        raise ValueError(f"name: unknown reproduction {name!r}; expected one of {sorted(REGISTRY)}")
    module_name, function = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), function)


__all__ = ["REGISTRY", "Claim", "ReproResult", "get_reproduction"]
