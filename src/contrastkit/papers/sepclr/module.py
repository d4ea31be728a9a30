"""SepCLR training (Louiset et al., ICLR 2024): a common and a salient encoder on background + target data."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from contrastkit.losses.sepclr import SepCLR
from contrastkit.training.base import StepModule, source_field
from contrastkit.training.sources import InMemorySource


def sepclr_head(dim: int, hidden: int = 128) -> nn.Sequential:
    """The official head on each backbone: ``MLP dim -> hidden -> dim`` with BN and ReLU."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))


class SepCLRModel(StepModule):
    """Contrastive analysis with separate common and salient spaces.

    ``c = h_C(f_C(x))`` for every sample, ``s = h_S(f_S(x))`` (informative on target rows only; the loss
    pulls background rows to ``s' = 0``); two augmented views per sample; loss
    :class:`~contrastkit.losses.sepclr.SepCLR`. With ``beta_salient = beta_reg = lambda_jem = 0`` only
    the common term is left: an alignment + uniformity contrastive baseline (Wang & Isola, ICML 2020) on
    the common encoder. Probes use the backbones ``f_C`` / ``f_S``. Under DDP the four embedding batches
    and the target flags are gathered (autograd) and the loss is computed on the global batch.
    """

    def __init__(self, common_encoder: nn.Module, salient_encoder: nn.Module, common_dim: int, salient_dim: int,
                 augment: Callable[[Tensor], Tensor], images: Tensor, is_target: Tensor, *,
                 loss: SepCLR | None = None, batch_size: int = 256, lr: float = 3e-4, seed: int = 0) -> None:
        super().__init__(InMemorySource(images=images, is_target=is_target.bool()), batch_size=batch_size, lr=lr,
                         seed=seed, optimizer="adam")
        self.common_encoder, self.salient_encoder = common_encoder, salient_encoder
        self.common_head, self.salient_head = sepclr_head(common_dim), sepclr_head(salient_dim)
        self.augment = augment
        self.loss_fn = loss if loss is not None else SepCLR()

    def common_features(self, x: Tensor) -> Tensor:
        return self.common_encoder(x)

    def salient_features(self, x: Tensor) -> Tensor:
        return self.salient_encoder(x)

    images = source_field("images")
    is_target = source_field("is_target")

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        x, t = batch["images"], batch["is_target"]
        v = torch.cat([self.augment(x), self.augment(x)])
        c1, c2 = self.common_head(self.common_encoder(v)).chunk(2)
        s1, s2 = self.salient_head(self.salient_encoder(v)).chunk(2)
        if self.world_size > 1:
            c1, c2, s1, s2 = (self.gather(e) for e in (c1, c2, s1, s2))
            t = self.gather(t, grad=False)
        return {"loss": self.loss_fn(c1, c2, s1, s2, is_target=t)}


__all__ = ["SepCLRModel", "sepclr_head"]
