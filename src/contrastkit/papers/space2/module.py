"""Training module of the SPACE-2 miniature: the top MiniLM layer(s) on cached states + a projection head, two
dropout views per utterance, a supervised term on the labeled utterances and SimCLR on the unlabeled ones."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses import InfoNCE, views_tile
from contrastkit.training import InMemorySource, StepModule

SUPERVISION = ("none", "exact", "tree")


class TreeSemiSupervised(StepModule):
    """SPACE-2's semi-supervised contrastive step (He et al., COLING 2022; official code
    AlibabaResearch/DAMO-ConvAI ``space-2/space/models/unified_transformer.py``, ``space/utils/criterions.py``).

    Each step: ``batch_size`` labeled rows (the source) and ``unlabeled_batch_size`` unlabeled rows (global
    RNG), each encoded twice in train mode (dropout views). Loss = labeled term + unlabeled term, both
    :class:`~contrastkit.losses.InfoNCE` two-view losses at ``temperature``:

    - ``supervision="tree"`` (SPACE-2): soft positives ``M_ij`` = the hierarchical set score of the two
      utterances' semantic trees, given as a tile callable (:class:`contrastkit.text.dialogue.TreeScores`
      through :func:`~contrastkit.losses.views_tile`), so it runs tiled like any soft-weight InfoNCE;
    - ``supervision="exact"`` (hard SupCon): ``labels=`` the exact-tree-match ids;
    - ``supervision="none"`` (SimCLR only): the labeled rows are used without their labels.

    The unlabeled term is always SimCLR's NT-Xent (``M = I``).

    Args:
        top, head: trainable :class:`~contrastkit.text.moe.TopLayers` and projection head.
        states, mask: ``(n, L, d)`` / ``(n, L)`` cached states of the labeled utterances;
            ``unlabeled_states``, ``unlabeled_mask`` those of the unlabeled ones.
        scores: :class:`~contrastkit.text.dialogue.TreeScores` of the labeled utterances (``tree``).
        exact_ids: ``(n,)`` exact-tree-match ids of the labeled utterances (``exact``).
        kwargs: :class:`~contrastkit.training.StepModule` settings.
    """

    def __init__(self, top: nn.Module, head: nn.Module, states: Tensor, mask: Tensor, unlabeled_states: Tensor,
                 unlabeled_mask: Tensor, *, supervision: str, scores: Any = None, exact_ids: Tensor | None = None,
                 temperature: float = 0.07, unlabeled_batch_size: int = 64, tile_size: int | str | None = "auto",
                 **kwargs: Any) -> None:
        if supervision not in SUPERVISION:
            raise ValueError(f"supervision: expected one of {SUPERVISION}, got {supervision!r}")
        if supervision == "tree" and scores is None:
            raise ValueError("scores: supervision='tree' needs the TreeScores of the labeled utterances")
        if supervision == "exact" and exact_ids is None:
            raise ValueError("exact_ids: supervision='exact' needs the exact-tree-match ids")
        super().__init__(InMemorySource(states=states, mask=mask, row=torch.arange(states.shape[0])), **kwargs)
        self.top, self.head = top, head
        self.register_buffer("unlabeled_states", unlabeled_states, persistent=False)
        self.register_buffer("unlabeled_mask", unlabeled_mask, persistent=False)
        self.supervision, self.scores, self.exact_ids = supervision, scores, exact_ids
        self.unlabeled_batch_size = unlabeled_batch_size
        self.loss = InfoNCE(temperature, tile_size=tile_size)

    def views(self, states: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Two train-mode (dropout) projections of the same utterances."""
        return self.head(self.top(states, mask)), self.head(self.top(states, mask))

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        z1, z2 = self.views(batch["states"], batch["mask"])
        rows = batch["row"]
        if self.supervision == "tree":
            tile = self.scores.subset(rows)
            labeled = self.loss(z1, z2, weights=views_tile(tile, len(rows)))
        elif self.supervision == "exact":
            labeled = self.loss(z1, z2, labels=self.exact_ids[rows])
        else:
            labeled = self.loss(z1, z2)
        u = torch.randint(self.unlabeled_states.shape[0], (self.unlabeled_batch_size,))
        u1, u2 = self.views(self.unlabeled_states[u], self.unlabeled_mask[u])
        unlabeled = self.loss(u1, u2)
        return {"loss": labeled + unlabeled, "labeled": labeled.detach(), "unlabeled": unlabeled.detach()}


__all__ = ["SUPERVISION", "TreeSemiSupervised"]
