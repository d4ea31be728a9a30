"""Time-series contrastive training schemes as Lightning modules.

- :class:`TS2Vec`: Yue et al., AAAI 2022 — two overlapping random crops, timestamp masking inside
  the encoder, hierarchical temporal + instance contrast
  (:func:`contrastkit.timeseries.hierarchical_contrastive_loss`).
- :class:`TSSimCLR`: SimCLR (Chen et al., ICML 2020) on series with a weak and a strong view and
  per-pair NT-Xent ``InfoNCE(reduction="none")``, optionally re-weighted by DBPM (Lan et al.,
  ICLR 2024, :class:`contrastkit.mining.dbpm.DBPM`), as in the DBPM reference implementation.

Both expect batches ``(x, index)`` with ``x`` ``(B, C, T)`` and ``index`` the dataset row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from contrastkit.losses.infonce import InfoNCE
from contrastkit.mining.dbpm import DBPM
from contrastkit.timeseries.augment import jitter, permutation, scaling
from contrastkit.timeseries.encoder import TSEncoder, instance_pool
from contrastkit.timeseries.losses import hierarchical_contrastive_loss, ts2vec_crop_pair
from contrastkit.training.steps import batch_rows, step_seed

ViewFn = Callable[[Tensor, Tensor], Tensor]


class TS2Vec(L.LightningModule):
    """TS2Vec training: ``L_dual`` on ``f(v1)[:, -l:]`` and ``f(v2)[:, :l]`` of overlapping crops.

    Args:
        encoder: a :class:`TSEncoder` (its ``mask_mode`` is the timestamp mask, default binomial).
        lr: AdamW learning rate (TS2Vec: 1e-3).
        alpha, temporal_unit: see :func:`hierarchical_contrastive_loss`.
    """

    def __init__(self, encoder: TSEncoder, *, lr: float = 1e-3, alpha: float = 0.5,
                 temporal_unit: int = 0, batch_size: int = 8, seed: int = 0):
        super().__init__()
        self.encoder = encoder
        self.lr, self.alpha, self.temporal_unit = lr, alpha, temporal_unit
        self.batch_size, self.seed = batch_size, seed
        self.register_buffer("series", None, persistent=False)
        self._step_seeded = False  # set by bind: reseed per step (existing loader-fed runs keep their RNG stream)

    def bind(self, series: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """Attach in-memory series ``(n, C, T)`` (rows of step ``t`` from ``batch_rows``, RNG reseeded
        per step, so a resumed run replays), or ``None`` to train on a loader's batches. Labels are unused."""
        channels = self.encoder.input_dims
        if sample.dim() != 3 or sample.shape[1] != channels:
            raise ValueError(f"data: TS2Vec expects series (n, {channels}, length) for its {channels}-channel "
                             f"encoder, got samples of shape {tuple(sample.shape)}")
        self.series = series
        self._step_seeded = True

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        step = int(self.global_step)
        if self.series is not None:
            index = batch_rows(step, len(self.series), self.batch_size, self.seed, self.global_rank,
                               self.trainer.world_size if self._trainer else 1)
            x = self.series[index.to(self.series.device)]
        else:
            x = batch if isinstance(batch, Tensor) else batch[0]
        if self._step_seeded:
            torch.manual_seed(step_seed(self.seed, step, self.global_rank))  # the crops and masks of step t
        v1, v2, length = ts2vec_crop_pair(x, min_length=2 ** (self.temporal_unit + 1))
        z1 = self.encoder(v1)[:, -length:]
        z2 = self.encoder(v2)[:, :length]
        loss = hierarchical_contrastive_loss(z1, z2, alpha=self.alpha, temporal_unit=self.temporal_unit)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)

    def save_pretrained(self, path: Any, *, metadata: dict[str, Any] | None = None) -> Any:
        """Write the trained encoder to the folder ``path`` (:func:`contrastkit.save_pretrained`)."""
        from contrastkit.pretrained import save_pretrained

        return save_pretrained(self, path, metadata=metadata)

    def encode(self, x: Any, **kwargs: Any) -> Tensor:
        """Instance embeddings ``(n, d)`` of series ``(n, C, T)`` (:func:`contrastkit.encode`)."""
        from contrastkit.pretrained import encode

        return encode(self.encoder, x, **kwargs)


def dbpm_weak_view(x: Tensor, index: Tensor) -> Tensor:
    """DBPM's weak augmentation: scaling with ``sigma = 1.1``."""
    return scaling(x, 1.1)


def dbpm_strong_view(x: Tensor, index: Tensor) -> Tensor:
    """DBPM's strong augmentation: permutation (<= 8 segments) then jitter ``sigma = 0.8``."""
    return jitter(permutation(x, 8), 0.8)


class TSSimCLR(L.LightningModule):
    """SimCLR for series with optional DBPM re-weighting of bad positive pairs.

    Per pair ``i``: ``l_i`` = NT-Xent of its two views (``InfoNCE(tau, reduction="none")``, the two
    directions averaged); the loss is ``mean_i w_i l_i`` with ``w_i`` from :class:`DBPM` (1 without it).

    Args:
        encoder: series encoder; the representation is its max-pooled output.
        head_hidden, head_out: projection MLP ``D -> hidden -> out`` (DBPM: 512, 256).
        temperature: NT-Xent ``tau`` (DBPM: 0.2).
        lr: Adam learning rate (DBPM: 3e-4).
        miner: a :class:`DBPM` instance (sized to the dataset) or ``None``.
        weak_view, strong_view: ``(x, index) -> view`` (defaults: DBPM's augmentations).
    """

    def __init__(self, encoder: TSEncoder, *, head_hidden: int = 128, head_out: int = 64,
                 temperature: float = 0.2, lr: float = 3e-4, miner: DBPM | None = None,
                 weak_view: ViewFn = dbpm_weak_view, strong_view: ViewFn = dbpm_strong_view):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(encoder.output_dims, head_hidden), nn.ReLU(),
                                  nn.Linear(head_hidden, head_out))
        self.loss_fn = InfoNCE(temperature, reduction="none")
        self.lr, self.miner = lr, miner
        self.weak_view, self.strong_view = weak_view, strong_view

    def embed(self, x: Tensor) -> Tensor:
        return self.head(instance_pool(self.encoder(x)))

    def on_train_epoch_start(self) -> None:
        if self.miner is not None:
            self.miner.start_epoch(self.current_epoch)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, index = batch[0], batch[1]
        per_pair = self.loss_fn(self.embed(self.weak_view(x, index)),
                                self.embed(self.strong_view(x, index)))
        if self.miner is not None:
            per_pair = self.miner(per_pair, index)
        loss = per_pair.mean()
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


__all__ = ["TS2Vec", "TSSimCLR", "dbpm_strong_view", "dbpm_weak_view"]
