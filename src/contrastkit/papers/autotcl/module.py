"""AutoTCL training scheme (Zheng et al., ICLR 2024, "Parametric Augmentation for Time Series
Contrastive Learning") as a Lightning module.

Alternating optimisation (official ``AutoTCL_CoST.py``), every ``ratio_step`` iterations:

1. augmentation step (encoder frozen, eval): ``v = g(x) ⊙ h(x) ⊙ x``,
   ``L_aug = MMD(maxpool f(x), maxpool f(v)) + reg_weight ReLU(mean w_h - 0.4) + time_weight R_time``,
   AdamW on the augmentation network (``meta_lr``);
2. encoder step (augmentation network frozen, masks still sampled):
   ``L_enc = InfoNCE_global(maxpool f(x), maxpool f(v); tau=1) + local_weight L_local``, AdamW (``lr``);
   an SWA average of the encoder (``torch.optim.swa_utils.AveragedModel``) is kept for evaluation.

With ``augmentation`` set to the name of a fixed augmentation (``contrastkit.timeseries.AUGMENTATIONS``)
the same encoder objective is trained on ``v = aug(x)`` instead: the fixed-augmentation baseline.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor
from torch.optim.swa_utils import AveragedModel

from contrastkit.timeseries.augment import get_augmentation
from contrastkit.timeseries.autotcl import AugmentationNetwork, AutoTCLLoss, augmentation_objective
from contrastkit.timeseries.encoder import TSEncoder
from contrastkit.training.loop import optimizer_step


class AutoTCL(L.LightningModule):
    """AutoTCL (learned augmentation) or the same objective with a fixed augmentation.

    Args:
        encoder: :class:`TSEncoder` ``f`` (use ``mask_mode="all_true"``: the view is the augmentation).
        augmentation: ``"learned"`` or a fixed augmentation name (e.g. ``"jitter_scaling"``).
        aug_dim, aug_depth, gumbel_bias, gamma_zeta: augmentation network (16, 1, 0.05, 0.05).
        lr, meta_lr: encoder / augmentation learning rates (AdamW).
        ratio_step: one augmentation step every ``ratio_step`` iterations.
        local_weight, reg_weight, time_weight: loss weights (0.3, 0.003, 0).
        local_k: segments of the local contrast (16).
        swa: keep an SWA average of the encoder for :meth:`encode`.
    """

    def __init__(self, encoder: TSEncoder, *, augmentation: str = "learned", aug_dim: int = 16,
                 aug_depth: int = 1, gumbel_bias: float = 0.05, gamma_zeta: float = 0.05,
                 lr: float = 1e-3, meta_lr: float = 0.01, ratio_step: int = 1,
                 local_weight: float = 0.3, reg_weight: float = 0.003, time_weight: float = 0.0,
                 local_k: int = 16, swa: bool = True):
        super().__init__()
        if ratio_step < 1:
            raise ValueError(f"ratio_step: expected an integer >= 1, got {ratio_step!r}")
        self.automatic_optimization = False
        self.encoder = encoder
        self.augmentation = augmentation
        if augmentation == "learned":
            self.aug_net: AugmentationNetwork | None = AugmentationNetwork(
                encoder.input_dims, aug_dim, aug_depth, gumbel_bias=gumbel_bias, gamma_zeta=gamma_zeta)
            self._fixed = None
        else:
            self.aug_net = None
            self._fixed = get_augmentation(augmentation)
        self.lr, self.meta_lr, self.ratio_step = lr, meta_lr, ratio_step
        self.local_weight, self.reg_weight, self.time_weight = local_weight, reg_weight, time_weight
        self.local_k = local_k
        self.loss_fn = AutoTCLLoss(local_weight, local_k)
        self.swa_model = AveragedModel(encoder) if swa else None
        self.keep_ratios: list[float] = []

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        optimizers = [torch.optim.AdamW(self.encoder.parameters(), lr=self.lr)]
        if self.aug_net is not None:
            optimizers.append(torch.optim.AdamW(self.aug_net.parameters(), lr=self.meta_lr))
        return optimizers

    def view(self, x: Tensor) -> Tensor:
        """The augmented view used in the encoder step (no gradient to the augmenter)."""
        if self.aug_net is None:
            assert self._fixed is not None
            return self._fixed(x)
        with torch.no_grad():
            out = self.aug_net(x)
        self.keep_ratios.append(float(out.mask.mean()))
        return out.view

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        x = batch[0]
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        if self.aug_net is not None and batch_idx % self.ratio_step == 0:
            self._augmentation_step(x, optimizers[1])
        enc_opt = optimizers[0]
        self.encoder.train()
        v = self.view(x)
        loss = optimizer_step(enc_opt, self.loss_fn(self.encoder(x), self.encoder(v)), self.manual_backward)
        if self.swa_model is not None:
            self.swa_model.update_parameters(self.encoder)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def _augmentation_step(self, x: Tensor, optimizer: torch.optim.Optimizer) -> None:
        assert self.aug_net is not None
        self.encoder.eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        out = self.aug_net(x)
        with torch.no_grad():
            z_x = self.encoder(x)
        loss = augmentation_objective(z_x, self.encoder(out.view), out.mask_score,
                                      reg_weight=self.reg_weight, time_weight=self.time_weight)
        optimizer_step(optimizer, loss, self.manual_backward)
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        self.log("aug_loss", loss.detach(), prog_bar=False)

    def trained_encoder(self) -> TSEncoder:
        """The SWA-averaged encoder (or the encoder itself without SWA)."""
        if self.swa_model is None:
            return self.encoder
        return self.swa_model.module  # type: ignore[return-value]

    def encode(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """Instance embeddings of the trained (SWA) encoder."""
        return self.trained_encoder().encode(x, padding_mask)


__all__ = ["AutoTCL"]
