"""CL4SRec (Xie et al., ICDE 2022, "Contrastive Learning for Sequential Recommendation").

``L = L_rec + lambda * L_cl`` with ``L_cl`` the NT-Xent loss between the last-position representations
of two augmented views of each training window (each view: one of crop / mask / reorder drawn per row,
:class:`contrastkit.seqrec.CL4SRecAugment`), 2B anchors and 2B - 2 negatives each, dot-product
similarity and temperature 1 (the CL4SRec code released with DuoRec: ``sim='dot'``, ``tau=1``,
``lmd=0.1``).
"""

from __future__ import annotations

from typing import Any

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
        kwargs: :class:`~contrastkit.methods.sasrec.SASRecModule` settings (``windows``, ``batch_size``, ``lr``,
            ``weight_decay``, ``seed``). The views draw from the global RNG, which the training base reseeds
            every step.
    """

    def __init__(self, encoder: SASRec, *, cl_weight: float = 0.1, temperature: float = 1.0,
                 similarity: str = "dot", crop: float = 0.4, mask: float = 0.3, reorder: float = 0.6,
                 **kwargs: Any) -> None:
        super().__init__(encoder, **kwargs)
        self.cl_weight = float(cl_weight)
        self.augment = CL4SRecAugment(encoder.n_items + 1, crop=crop, mask=mask, reorder=reorder)
        self.cl_loss = InfoNCE(temperature, similarity=similarity)

    def draw_views(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """Two augmented ``(B, L)`` views of ``inputs`` (drawn on the CPU from the global RNG)."""
        v1 = self.augment(inputs.cpu()).to(inputs.device)
        v2 = self.augment(inputs.cpu()).to(inputs.device)
        return v1, v2

    def views(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """Representations ``(B, d)`` of two augmented views of ``inputs``."""
        v1, v2 = self.draw_views(inputs)
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
