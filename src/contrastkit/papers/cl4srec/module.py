"""CL4SRec (Xie et al., ICDE 2022, "Contrastive Learning for Sequential Recommendation").

``L = L_rec + lambda * L_cl`` with ``L_cl`` the NT-Xent loss between the last-position representations
of two augmented views of each training window (each view: one of crop / mask / reorder drawn per row,
:class:`contrastkit.seqrec.CL4SRecAugment`), 2B anchors and 2B - 2 negatives each, dot-product
similarity and temperature 1 (the CL4SRec code released with DuoRec: ``sim='dot'``, ``tau=1``,
``lmd=0.1``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.losses import InfoNCE
from contrastkit.methods.sasrec import Batch, SASRecModule
from contrastkit.seqrec.augment import CL4SRecAugment
from contrastkit.seqrec.encoders import SASRec


class CL4SRec(SASRecModule):
    """SASRec + InfoNCE between two CL4SRec-augmented views.

    Args:
        encoder: :class:`contrastkit.seqrec.SASRec`.
        cl_weight: ``lambda`` (0.1).
        temperature: InfoNCE temperature (1.0).
        similarity: ``"dot"`` (CL4SRec) or ``"cosine"``.
        crop, mask, reorder: augmentation rates (:class:`CL4SRecAugment`).
        seed: seed of the augmentation generator.
    """

    def __init__(self, encoder: SASRec, *, cl_weight: float = 0.1, temperature: float = 1.0,
                 similarity: str = "dot", crop: float = 0.4, mask: float = 0.3, reorder: float = 0.6,
                 lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0) -> None:
        super().__init__(encoder, lr=lr, weight_decay=weight_decay)
        self.cl_weight = float(cl_weight)
        self.augment = CL4SRecAugment(encoder.n_items + 1, crop=crop, mask=mask, reorder=reorder)
        self.cl_loss = InfoNCE(temperature, similarity=similarity)
        self.generator = torch.Generator().manual_seed(seed)

    def views(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """Representations ``(B, d)`` of two augmented views of ``inputs``."""
        v1 = self.augment(inputs.cpu(), self.generator).to(inputs.device)
        v2 = self.augment(inputs.cpu(), self.generator).to(inputs.device)
        return self.encoder.encode(v1), self.encoder.encode(v2)

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        inputs, targets, _ = batch
        rec, _ = self.rec_loss(inputs, targets)
        if self.cl_weight == 0:
            return {"loss": rec, "rec": rec}
        h1, h2 = self.views(inputs)
        cl = self.cl_loss(h1, h2)
        return {"loss": rec + self.cl_weight * cl, "rec": rec, "cl": cl}


__all__ = ["CL4SRec"]
