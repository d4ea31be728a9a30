"""One folder per paper: ``papers/<pkg>/`` holds the paper's training module (``module.py``, if it has
one), its reproduction (``reproduce.py``), its recipe (``recipe.yaml``) and a README (claim, citation,
measured result, deviations). Losses stay in the flat :mod:`contrastkit.losses` namespace; each paper's
:class:`PaperSpec` names the loss it uses.

:data:`PAPERS` maps a paper name to the ``"module:attr"`` of its spec, so listing the papers imports
only the small ``papers/<pkg>/__init__.py`` files and optional extras (aeon, transformers) stay optional.
Adding a paper = adding a folder (it is discovered, nothing shared is edited); the CLI (``contrastkit
papers``, ``contrastkit reproduce --help``) and the README results table are generated from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from contrastkit.papers._spec import MODALITIES, PaperSpec, resolve
from contrastkit.reproduce.result import ReproResult

_ROOT = Path(__file__).resolve().parent


def _discover() -> dict[str, str]:
    """Every ``papers/<pkg>/__init__.py`` (``pkg`` not starting with ``_``), found without importing it."""
    found = {}
    for init in sorted(_ROOT.glob("*/__init__.py")):
        pkg = init.parent.name
        if not pkg.startswith(("_", ".")):
            found[pkg.replace("_", "-")] = f"contrastkit.papers.{pkg}:SPEC"
    return found


# name -> "module:attr" of its PaperSpec (imported lazily); a new folder registers itself.
PAPERS: dict[str, str] = _discover()


def get_paper(name: str) -> PaperSpec:
    """The :class:`PaperSpec` registered under ``name`` (``ValueError`` naming the known papers)."""
    if not isinstance(name, str) or name not in PAPERS:
        raise ValueError(f"name: unknown paper {name!r}; expected one of {sorted(PAPERS)}")
    spec = resolve(PAPERS[name])
    if not isinstance(spec, PaperSpec) or spec.name != name:
        raise TypeError(f"{PAPERS[name]}: expected the PaperSpec of {name!r}, got {spec!r}")
    return spec


def list_papers() -> list[PaperSpec]:
    """Every registered paper's spec, grouped by modality (in :data:`MODALITIES` order), then by name."""
    specs = [get_paper(name) for name in PAPERS]
    return sorted(specs, key=lambda s: (MODALITIES.index(s.modality), s.name))


def get_reproduction(name: str) -> Callable[..., ReproResult]:
    """The reproduction ``reproduce(quick=False, seeds=None) -> ReproResult`` of paper ``name``."""
    if not isinstance(name, str) or name not in PAPERS:
        raise ValueError(f"name: unknown reproduction {name!r}; expected one of {sorted(PAPERS)}")
    return get_paper(name).load_reproduction()


__all__ = ["MODALITIES", "PAPERS", "PaperSpec", "get_paper", "get_reproduction", "list_papers"]
