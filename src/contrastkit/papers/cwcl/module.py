"""CWCL's training module: the CLIP two-tower trained with the continuously weighted loss.

:class:`CWCLModel` is :class:`contrastkit.papers.clip.module.CLIP` with ``loss="cwcl"``: the targets of
:class:`contrastkit.losses.CWCL` are the intra-modal similarities of a frozen text tower (Srinivasa et
al., NeurIPS 2023, Eq. 3), so it needs ``frozen_text``.
"""

from __future__ import annotations

from typing import Any

from contrastkit.papers.clip.module import CLIP


class CWCLModel(CLIP):
    """CLIP with the CWCL loss (``loss="cwcl"`` unless given); every other argument as :class:`CLIP`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("loss", "cwcl")
        super().__init__(*args, **kwargs)


__all__ = ["CWCLModel"]
