"""SASRec next-item training as a Lightning module, the base of CL4SRec, MCLRec and SRA-CL.

Batches are ``(inputs, targets, users)`` from :meth:`contrastkit.seqrec.SeqRecData.train_windows`:
left-padded ``(B, L)`` windows and the next item at every position. The recommendation loss is the
full-softmax cross-entropy ``CE(h_t E^T, i_{t+1})`` over all items at every non-padded position
(Kang & McAuley, ICDM 2018; RecBole's ``loss_type: CE``).
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.seqrec.data import PAD
from contrastkit.seqrec.encoders import SASRec

Batch = tuple[Tensor, Tensor, Tensor]


def next_item_loss(encoder: SASRec, hidden: Tensor, targets: Tensor) -> Tensor:
    """Mean CE of ``(B, L, d)`` outputs against ``(B, L)`` next items over every non-padded target."""
    keep = targets != PAD
    logits = encoder.scores(hidden[keep])
    return F.cross_entropy(logits, targets[keep] - 1)


class SASRecModule(L.LightningModule):
    """Plain SASRec: ``L = L_rec``.

    Args:
        encoder: :class:`contrastkit.seqrec.SASRec`.
        lr: Adam learning rate (RecBole: 1e-3).
        weight_decay: Adam weight decay (RecBole: 0).
    """

    def __init__(self, encoder: SASRec, *, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.lr, self.weight_decay = lr, weight_decay

    def rec_loss(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(L_rec, hidden)`` with ``hidden (B, L, d)`` the encoder outputs of ``inputs``."""
        hidden = self.encoder(inputs)
        return next_item_loss(self.encoder, hidden, targets), hidden

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        """The loss terms of one batch; ``"loss"`` is the optimised total."""
        inputs, targets, _ = batch
        rec, _ = self.rec_loss(inputs, targets)
        return {"loss": rec, "rec": rec}

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        out = self.losses(batch)
        for name, value in out.items():
            self.log(f"train_{name}", value.detach(), on_step=False, on_epoch=True)
        return out["loss"]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    @torch.no_grad()
    def full_scores(self, inputs: Tensor) -> Tensor:
        """``(U, n_items)`` scores for the rows of ``inputs`` (eval mode)."""
        return self.encoder.full_scores(inputs)


__all__ = ["Batch", "SASRecModule", "next_item_loss"]
