"""SASRec next-item training on the one training base, the base of CL4SRec, MCLRec and SRA-CL.

The training rows are the windows of :meth:`contrastkit.seqrec.SeqRecData.train_windows`, held as an
:class:`~contrastkit.training.InMemorySource` with fields ``inputs`` / ``targets`` (left-padded ``(N, L)``
windows and the next item at every position) and ``users`` (``(N,)``). As for every
:class:`~contrastkit.training.StepModule`, the rows of step ``t`` and the RNG of its augmentations and
dropout depend only on ``(seed, t)``. The recommendation loss is the full-softmax cross-entropy
``CE(h_t E^T, i_{t+1})`` over all items at every non-padded position (Kang & McAuley, ICDM 2018; RecBole's
``loss_type: CE``). A module built without windows is bound to them by
:func:`contrastkit.methods.seqrec_fit.fit_seqrec` (:meth:`SASRecModule.bind_windows`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.seqrec.data import PAD
from contrastkit.seqrec.encoders import SASRec
from contrastkit.training import InMemorySource, StepModule
from contrastkit.training.sources import UnboundSource

Batch = tuple[Tensor, Tensor, Tensor]


def next_item_loss(encoder: SASRec, hidden: Tensor, targets: Tensor) -> Tensor:
    """Mean CE of ``(B, L, d)`` outputs against ``(B, L)`` next items over every non-padded target."""
    keep = targets != PAD
    logits = encoder.scores(hidden[keep])
    return F.cross_entropy(logits, targets[keep] - 1)


def window_source(inputs: Tensor, targets: Tensor, users: Tensor) -> InMemorySource:
    """The training windows ``(inputs, targets, users)`` as an in-memory source."""
    return InMemorySource(inputs=inputs, targets=targets, users=users)


class SASRecModule(StepModule):
    """Plain SASRec: ``L = L_rec``.

    Args:
        encoder: :class:`contrastkit.seqrec.SASRec`.
        windows: the training windows ``(inputs, targets, users)``; ``None`` to bind them later
            (:meth:`bind_windows`, done by ``fit_seqrec``).
        batch_size: windows per step (256).
        lr: Adam learning rate (RecBole: 1e-3).
        weight_decay: Adam weight decay (RecBole: 0).
        seed: seed of the step rows, the augmentations and dropout.
    """

    def __init__(self, encoder: SASRec, *, windows: Batch | None = None, batch_size: int = 256, lr: float = 1e-3,
                 weight_decay: float = 0.0, seed: int = 0) -> None:
        source = window_source(*windows) if windows is not None else UnboundSource(type(self).__name__)
        super().__init__(source, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                         optimizer="adam")
        self.encoder = encoder

    def bind_windows(self, windows: Batch, *, batch_size: int | None = None, seed: int | None = None) -> None:
        """Train on ``windows`` (replacing any bound before), optionally with a new batch size / seed."""
        self.source = window_source(*windows)
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
            self.batch_size = batch_size
        if seed is not None:
            self.seed = int(seed)

    def rec_loss(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(L_rec, hidden)`` with ``hidden (B, L, d)`` the encoder outputs of ``inputs``."""
        hidden = self.encoder(inputs)
        return next_item_loss(self.encoder, hidden, targets), hidden

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        """The loss terms of one ``(inputs, targets, users)`` batch; ``"loss"`` is the optimised total."""
        inputs, targets, _ = batch
        rec, _ = self.rec_loss(inputs, targets)
        return {"loss": rec, "rec": rec}

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        return self.losses((batch["inputs"], batch["targets"], batch["users"]))

    def full_scores(self, inputs: Tensor) -> Tensor:
        """``(U, n_items)`` scores for the rows of ``inputs`` (eval mode, no gradient)."""
        with torch.no_grad():
            return self.encoder.full_scores(inputs)


__all__ = ["Batch", "SASRecModule", "next_item_loss", "window_source"]
