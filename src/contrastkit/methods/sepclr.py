"""SepCLR training (Louiset et al., ICLR 2024): a common and a salient encoder on background + target data."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import Tensor, nn

from contrastkit.losses.sepclr import SepCLR
from contrastkit.methods.batching import batch_rows


def sepclr_head(dim: int, hidden: int = 128) -> nn.Sequential:
    """The official head on each backbone: ``MLP dim -> hidden -> dim`` with BN and ReLU."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))


class SepCLRModel(L.LightningModule):
    """Contrastive analysis with separate common and salient spaces.

    ``c = h_C(f_C(x))`` for every sample, ``s = h_S(f_S(x))`` (informative on target rows only; the loss
    pulls background rows to ``s' = 0``); two augmented views per sample; loss
    :class:`~contrastkit.losses.sepclr.SepCLR`. With ``beta_salient = beta_reg = lambda_jem = 0`` only
    the common term is left: an alignment + uniformity contrastive baseline (Wang & Isola, ICML 2020) on
    the common encoder. Probes use the backbones ``f_C`` / ``f_S``.
    """

    def __init__(self, common_encoder: nn.Module, salient_encoder: nn.Module, common_dim: int, salient_dim: int,
                 augment: Callable[[Tensor], Tensor], images: Tensor, is_target: Tensor, *,
                 loss: SepCLR | None = None, batch_size: int = 256, lr: float = 3e-4, seed: int = 0) -> None:
        super().__init__()
        self.common_encoder, self.salient_encoder = common_encoder, salient_encoder
        self.common_head, self.salient_head = sepclr_head(common_dim), sepclr_head(salient_dim)
        self.augment = augment
        self.loss_fn = loss if loss is not None else SepCLR()
        self.register_buffer("images", images, persistent=False)
        self.register_buffer("is_target", is_target.bool(), persistent=False)
        self.batch_size, self.lr, self.seed = batch_size, lr, seed

    def common_features(self, x: Tensor) -> Tensor:
        return self.common_encoder(x)

    def salient_features(self, x: Tensor) -> Tensor:
        return self.salient_encoder(x)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        index = batch_rows(step, len(self.images), self.batch_size, self.seed).to(self.images.device)
        torch.manual_seed(self.seed * 1_000_003 + step * 1009)
        x, t = self.images[index], self.is_target[index]
        v = torch.cat([self.augment(x), self.augment(x)])
        c1, c2 = self.common_head(self.common_encoder(v)).chunk(2)
        s1, s2 = self.salient_head(self.salient_encoder(v)).chunk(2)
        loss = self.loss_fn(c1, c2, s1, s2, is_target=t)
        self.log("train_loss", loss, on_step=True, on_epoch=False, batch_size=len(index))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


__all__ = ["SepCLRModel", "sepclr_head"]
