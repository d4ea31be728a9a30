"""MCLRec (Qin et al., SIGIR 2023, "Meta-optimized Contrastive Learning for Sequential Recommendation").

Two CL4SRec-augmented views are encoded, ``h~1 = f(g1(S)), h~2 = f(g2(S))``, and passed through two
learnable augmenters ``z~k = w_phi_k(h~k)`` (3-layer MLPs ``d -> d/2 -> d/4 -> d`` with GELU and an
L2-normalised output, official ``Extractor``). With ``L_con`` the NT-Xent loss (dot similarity, tau 1):

- ``L_cl1 = L_con(h~1, h~2)`` (Eq. 7), ``L_cl2 = L_con(z~1, z~2) + L_con(h~1, z~2) + L_con(h~2, z~1)`` (Eq. 9);
- ``R`` (Eqs. 11-13, :func:`contrastive_regularizer`) on the scores of ``(z~1, z~2)``.

Meta-optimised two-stage update per batch (paper Algorithm 1):

1. encoder ``theta``: ``L0 = L_rec + lambda L_cl1 + beta L_cl2 + gamma R`` (Eq. 14); the augmenters are
   not stepped (their gradients are discarded);
2. augmenters ``phi``: re-encode the views with the updated encoder (no gradient into it) and step
   ``L1 = L_cl2 + gamma R`` (Eq. 15) on ``phi`` only.

``gamma = 0.1 * beta`` (paper Sec. 4.1.4).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.methods.sasrec import Batch
from contrastkit.papers.cl4srec.module import CL4SRec
from contrastkit.seqrec.encoders import SASRec


class Augmenter(nn.Module):
    """MCLRec's learnable augmenter: ``d -> d/2 -> d/4 -> d`` MLP with GELU, L2-normalised output."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 4:
            raise ValueError(f"dim: expected an embedding size >= 4, got {dim}")
        self.net = nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, dim // 4), nn.GELU(),
                                 nn.Linear(dim // 4, dim))

    def forward(self, h: Tensor) -> Tensor:
        return nn.functional.normalize(self.net(h), dim=-1)


def regularizer_from_scores(positives: Tensor, negatives: Tensor) -> Tensor:
    """MCLRec's contrastive regulariser (Eqs. 11-13) from flat positive / negative scores::

        o_min = min(min s+, max s-),  o_max = max(min s+, max s-)
        R = mean_{s+} [s+ - o_min]_+ + mean_{s-} [o_max - s-]_+
    """
    if positives.numel() == 0 or negatives.numel() == 0:
        raise ValueError("positives/negatives: the regulariser needs at least one positive and one negative score")
    low, high = positives.min(), negatives.max()
    o_min, o_max = torch.minimum(low, high), torch.maximum(low, high)
    return torch.relu(positives - o_min).mean() + torch.relu(o_max - negatives).mean()


def contrastive_regularizer(z1: Tensor, z2: Tensor) -> Tensor:
    """``R`` on the ``(B, B)`` inner products of ``z1`` and ``z2``: diagonal = positives, rest = negatives."""
    if z1.shape[0] < 2:
        raise ValueError(f"z1: the regulariser needs a batch of >= 2 rows, got {z1.shape[0]}")
    scores = z1 @ z2.T
    eye = torch.eye(scores.shape[0], dtype=torch.bool, device=scores.device)
    return regularizer_from_scores(scores[eye], scores[~eye])


class MCLRec(CL4SRec):
    """MCLRec on a SASRec encoder (manual optimisation: encoder step, then augmenter step).

    Args:
        cl_weight: ``lambda`` on ``L_cl1``.
        aug_weight: ``beta`` on ``L_cl2``; ``gamma = reg_factor * beta`` on ``R`` (``reg_factor`` 0.1).
        aug_lr: learning rate of the augmenters (paper: ``l' = 1e-3``).
        Other arguments as :class:`CL4SRec`.
    """

    def __init__(self, encoder: SASRec, *, cl_weight: float = 0.1, aug_weight: float = 0.1, reg_factor: float = 0.1,
                 aug_lr: float = 1e-3, **kwargs: object) -> None:
        super().__init__(encoder, cl_weight=cl_weight, **kwargs)  # type: ignore[arg-type]
        self.automatic_optimization = False
        self.aug_weight, self.reg_weight, self.aug_lr = float(aug_weight), float(reg_factor) * float(aug_weight), aug_lr
        self.augmenter1 = Augmenter(encoder.hidden_size)
        self.augmenter2 = Augmenter(encoder.hidden_size)

    def augmenter_parameters(self) -> list[nn.Parameter]:
        return [*self.augmenter1.parameters(), *self.augmenter2.parameters()]

    def contrast_terms(self, h1: Tensor, h2: Tensor) -> dict[str, Tensor]:
        """``L_cl1``, ``L_cl2`` and ``R`` of two view representations."""
        z1, z2 = self.augmenter1(h1), self.augmenter2(h2)
        cl2 = self.cl_loss(z1, z2) + self.cl_loss(h1, z2) + self.cl_loss(h2, z1)
        return {"cl1": self.cl_loss(h1, h2), "cl2": cl2, "reg": contrastive_regularizer(z1, z2)}

    def encoder_step_loss(self, batch: Batch, views: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Stage-1 objective ``L0`` (Eq. 14) on pre-drawn augmented ``views``."""
        inputs, targets, _ = batch
        rec, _ = self.rec_loss(inputs, targets)
        t = self.contrast_terms(self.encoder.encode(views[0]), self.encoder.encode(views[1]))
        loss = rec + self.cl_weight * t["cl1"] + self.aug_weight * t["cl2"] + self.reg_weight * t["reg"]
        return {"loss": loss, "rec": rec, **t}

    def augmenter_step_loss(self, views: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Stage-2 objective ``L1`` (Eq. 15): the encoder is run without gradient."""
        with torch.no_grad():
            h1, h2 = self.encoder.encode(views[0]), self.encoder.encode(views[1])
        t = self.contrast_terms(h1, h2)
        return {"loss": t["cl2"] + self.reg_weight * t["reg"], **t}

    def draw_views(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        v1 = self.augment(inputs.cpu(), self.generator).to(inputs.device)
        v2 = self.augment(inputs.cpu(), self.generator).to(inputs.device)
        return v1, v2

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        return self.encoder_step_loss(batch, self.draw_views(batch[0]))

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        enc_opt, aug_opt = self.optimizers()  # type: ignore[misc]
        views = self.draw_views(batch[0])
        # Stage 1: theta only. The augmenters' gradients from L0 are discarded before stage 2.
        stage1 = self.encoder_step_loss(batch, views)
        enc_opt.zero_grad()
        aug_opt.zero_grad()
        self.manual_backward(stage1["loss"])
        enc_opt.step()
        # Stage 2: phi only, with the views re-encoded by the updated encoder.
        aug_opt.zero_grad()
        enc_opt.zero_grad()
        stage2 = self.augmenter_step_loss(views)
        self.manual_backward(stage2["loss"])
        aug_opt.step()
        for name, value in stage1.items():
            self.log(f"train_{name}", value.detach(), on_step=False, on_epoch=True)
        self.log("train_aug_loss", stage2["loss"].detach(), on_step=False, on_epoch=True)
        return stage1["loss"].detach()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.encoder.parameters(), lr=self.lr, weight_decay=self.weight_decay),
                torch.optim.Adam(self.augmenter_parameters(), lr=self.aug_lr)]


__all__ = ["MCLRec", "Augmenter", "contrastive_regularizer", "regularizer_from_scores"]
