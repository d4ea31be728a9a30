"""Paper reproductions with their claims checked over seeds: ``contrastkit reproduce NAME``.

The reproductions live in :mod:`contrastkit.papers` (one folder per paper). This package keeps the
result objects (:class:`Claim`, :class:`ReproResult`) and, for one release, the old import paths:
:data:`REGISTRY` (name -> old ``"module:function"``, still importable) and :func:`get_reproduction`.
"""

from __future__ import annotations

from collections.abc import Callable

from contrastkit.reproduce.result import Claim, ReproResult

_OLD_MODULE = {
    "dcl": "vision", "cacr": "vision", "temperature": "vision",
    "autotcl": "timeseries", "comet": "timeseries", "dbpm": "timeseries", "forecasting": "timeseries",
    "simctg": "generation", "rankgen": "generation", "claps": "generation",
    "clip": "multimodal", "cwcl": "multimodal", "fini": "multimodal", "hydra": "multimodal",
    "sepclr": "multimodal", "supremix": "multimodal",
}
# Deprecated: name -> "module:function" of the old layout (thin re-exports of contrastkit.papers).
REGISTRY: dict[str, str] = {name: f"contrastkit.reproduce.{module}:{name}" for name, module in _OLD_MODULE.items()}


def get_reproduction(name: str) -> Callable[..., ReproResult]:
    """The reproduction of paper ``name`` (see :func:`contrastkit.papers.get_reproduction`)."""
    from contrastkit.papers import get_reproduction as get

    return get(name)


__all__ = ["REGISTRY", "Claim", "ReproResult", "get_reproduction"]
