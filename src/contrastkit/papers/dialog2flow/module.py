"""Training module of the Dialog2Flow miniature: the top MiniLM layer(s) on cached states + a contrastive head,
trained on same-act utterance pairs with the soft (label-text similarity) or the hard (same-label) targets."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses import InfoNCE, SoftLabelInfoNCE
from contrastkit.training import InMemorySource, StepModule


class ActPairs(StepModule):
    """Pairs ``(u_i, u'_i)`` of utterances with the same act label; each step's rows are the anchors and each
    anchor's partner is another utterance of its label, drawn with the step's RNG.

    Args:
        top: trainable :class:`~contrastkit.text.moe.TopLayers`; ``head``: the training-only projection.
        states, mask: ``(n, L, d)`` / ``(n, L)`` cached lower-layer states of the training utterances.
        labels: ``(n,)`` int64 act label index of each utterance (every label needs 2+ utterances).
        label_embeddings: ``(G, d_g)`` frozen label-text embeddings (used by the soft targets only).
        soft: Dialog2Flow's soft targets (:class:`~contrastkit.losses.SoftLabelInfoNCE`) or the hard
            uniform-over-same-label ones (``InfoNCE(mode="symmetric")`` with ``labels=``, D2F-Hard).
        temperature, label_temperature: ``tau`` and ``tau'``.
        kwargs: :class:`~contrastkit.training.StepModule` settings.
    """

    def __init__(self, top: nn.Module, head: nn.Module, states: Tensor, mask: Tensor, labels: Tensor,
                 label_embeddings: Tensor, *, soft: bool, temperature: float = 0.05, label_temperature: float = 0.35,
                 **kwargs: Any) -> None:
        super().__init__(InMemorySource(states=states, mask=mask, label=labels, row=torch.arange(len(labels))),
                         **kwargs)
        self.top, self.head = top, head
        counts = torch.bincount(labels)
        if bool((counts[labels] < 2).any()):
            raise ValueError("labels: every label needs at least 2 utterances to form a pair")
        self.by_label = [(labels == g).nonzero(as_tuple=True)[0] for g in range(len(counts))]
        self.position = torch.empty_like(labels)
        for rows in self.by_label:
            self.position[rows] = torch.arange(len(rows))
        self.register_buffer("label_embeddings", label_embeddings.detach().clone(), persistent=False)
        self.soft = soft
        self.loss = (SoftLabelInfoNCE(temperature, label_temperature=label_temperature) if soft
                     else InfoNCE(temperature, mode="symmetric"))

    def partners(self, rows: Tensor, labels: Tensor) -> Tensor:
        """Another row of the same label for every row (uniform over the others; global RNG)."""
        out = torch.empty_like(rows)
        for i, (r, g) in enumerate(zip(rows.tolist(), labels.tolist(), strict=True)):
            pool = self.by_label[g]
            shift = 1 + int(torch.randint(len(pool) - 1, ()))
            out[i] = pool[(int(self.position[r]) + shift) % len(pool)]
        return out

    def embed(self, states: Tensor, mask: Tensor) -> Tensor:
        return self.head(self.top(states, mask))

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        partner = self.partners(batch["row"], batch["label"])
        data = self.data
        a = self.embed(batch["states"], batch["mask"])
        b = self.embed(data.states[partner], data.mask[partner])
        if self.soft:
            loss = self.loss(a, b, labels=batch["label"], label_embeddings=self.label_embeddings)
        else:
            loss = self.loss(a, b, labels=batch["label"])
        return {"loss": loss}


__all__ = ["ActPairs"]
