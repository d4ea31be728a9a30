"""COMET training scheme (Wang et al., NeurIPS 2023, "Contrast Everything") as a Lightning module.

Per batch ``(x, trial_ids, patient_ids)``: two unmasked forward passes (``all_true``; the views
differ by dropout) feed the trial / patient levels, two span-masked passes (``continuous``: 5
spans of 10 % per series) feed the sample / observation levels, and
``L = l_P L_P + l_T L_T + l_S L_S + l_O L_O`` (:class:`contrastkit.timeseries.comet.COMETLoss`).
Batches should keep same-trial / same-patient samples together
(:class:`GroupBatchSampler`, COMET's ``shuffle_function='trial'``).
"""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import Sampler

from contrastkit.timeseries.comet import COMETLoss, group_batches
from contrastkit.timeseries.encoder import TSEncoder


class GroupBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices in which members of the same group co-occur (new order per epoch)."""

    def __init__(self, groups: Tensor, batch_size: int, seed: int = 0):
        if batch_size < 2:
            raise ValueError(f"batch_size: expected an integer >= 2, got {batch_size!r}")
        self.groups, self.batch_size = groups, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[list[int]]:
        for b in group_batches(self.groups, self.batch_size, generator=self.generator):
            yield b.tolist()

    def __len__(self) -> int:
        return len(group_batches(self.groups, self.batch_size, generator=torch.Generator()))


class COMET(L.LightningModule):
    """COMET: observation / sample / trial / patient contrast on a TS2Vec encoder.

    Args:
        encoder: :class:`TSEncoder`.
        weights: level weights (default 0.25 each); a level with weight 0 is skipped (and its
            forward passes when both levels of a pair are off).
        pairs: trial / patient level form (``"labels"`` or ``"official"``).
        lr: AdamW learning rate (COMET: 1e-4; miniatures use more).
    """

    def __init__(self, encoder: TSEncoder, *, weights: dict[str, float] | None = None,
                 pairs: str = "labels", lr: float = 1e-3):
        super().__init__()
        self.encoder = encoder
        self.loss_fn = COMETLoss(weights, pairs=pairs)
        self.lr = lr

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        x, trial, patient = batch
        w = self.loss_fn.weights
        group_views = masked_views = None
        if w["trial"] > 0 or w["patient"] > 0:
            group_views = (self.encoder(x, mask="all_true"), self.encoder(x, mask="all_true"))
        if w["sample"] > 0 or w["observation"] > 0:
            masked_views = (self.encoder(x, mask="continuous"), self.encoder(x, mask="continuous"))
        out = self.loss_fn(group_views, masked_views, trial_ids=trial, patient_ids=patient)
        self.log("train_loss", out.loss, prog_bar=False)
        return out.loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)


__all__ = ["COMET", "GroupBatchSampler"]
