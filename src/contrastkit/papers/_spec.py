"""What a paper folder declares: :class:`PaperSpec` (cheap to import; every code reference is a string)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODALITIES = ("vision", "timeseries", "image-text", "text-generation", "sequential-recommendation", "speech",
              "text", "graph")


def resolve(ref: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute (``ValueError`` naming a bad reference)."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"ref: expected 'package.module:attr', got {ref!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class PaperSpec:
    """One paper's entry in :data:`contrastkit.papers.PAPERS`.

    Attributes:
        name: registry name (``contrastkit reproduce NAME``); the folder is ``papers/<name with - -> _>/``.
        title, citation: the paper (authors, venue, year).
        modality: one of :data:`MODALITIES`.
        loss: ``"module:attr"`` of the loss the paper's method trains with (in ``contrastkit.losses`` when
            it is a contrastive loss of the library; a modality package where the objective is
            modality-specific).
        module: ``"module:attr"`` of the training module (``papers/<pkg>/module.py`` when the paper has its
            own), or ``""`` when the reproduction trains a plain model with a hand-written step.
        reproduction: ``"module:attr"`` of ``reproduce(quick=False, seeds=None) -> ReproResult``.
        recipe: path of the recipe YAML relative to the papers package (``"<pkg>/recipe.yaml"``), or ``""``.
        claim: the claim the miniature checks, one line.
        outcome: the measured outcome of the full run (see the paper's README.md), one line.
        readme: path of the README relative to the papers package.
    """

    name: str
    title: str
    citation: str
    modality: str
    loss: str
    module: str
    reproduction: str
    recipe: str
    claim: str
    outcome: str
    readme: str

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality: expected one of {MODALITIES}, got {self.modality!r}")
        for key in ("loss", "reproduction") + (("module",) if self.module else ()):
            if ":" not in getattr(self, key):
                raise ValueError(f"{key}: expected 'package.module:attr', got {getattr(self, key)!r}")

    @property
    def folder(self) -> Path:
        """``papers/<pkg>/`` of this paper."""
        return Path(__file__).resolve().parent / self.name.replace("-", "_")

    def recipe_path(self) -> Path | None:
        return self.folder.parent / self.recipe if self.recipe else None

    def load_reproduction(self) -> Any:
        return resolve(self.reproduction)

    def load_loss(self) -> Any:
        return resolve(self.loss)

    def load_module(self) -> Any:
        return resolve(self.module) if self.module else None
