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
from contrastkit.training.base import StepModule
from contrastkit.training.sources import InMemorySource, LoaderSource, UnboundSource

ViewFn = Callable[[Tensor, Tensor], Tensor]


class TS2Vec(StepModule):
    """TS2Vec training: ``L_dual`` on ``f(v1)[:, -l:]`` and ``f(v2)[:, :l]`` of overlapping crops.

    A :class:`~contrastkit.training.StepModule`: bound in-memory series give each step its rows from
    ``(seed, step, rank, world size)`` and reseed the crops and masks per step; a module trained directly on
    a Lightning loader (never bound) uses the loader's batches and the global RNG as it stands.

    Args:
        encoder: a :class:`TSEncoder` (its ``mask_mode`` is the timestamp mask, default binomial).
        lr: AdamW learning rate (TS2Vec: 1e-3); the weight decay is AdamW's default 0.01, as the official code.
        alpha, temporal_unit: see :func:`hierarchical_contrastive_loss`.
        batch_size, seed: the rows per step and their seed (in-memory series).
    """

    def __init__(self, encoder: TSEncoder, *, lr: float = 1e-3, alpha: float = 0.5,
                 temporal_unit: int = 0, batch_size: int = 8, seed: int = 0):
        # weight_decay 0.01: torch.optim.AdamW's default, which this module has always trained with
        super().__init__(UnboundSource("TS2Vec"), batch_size=batch_size, lr=lr, weight_decay=0.01, seed=seed,
                         optimizer="adamw")
        self.encoder = encoder
        self.alpha, self.temporal_unit = alpha, temporal_unit
        self._step_seeded = False  # set by bind: reseed per step (unbound loader-fed runs keep their RNG stream)

    @property
    def series(self) -> Tensor | None:
        """The bound in-memory series ``(n, C, T)``, or ``None``."""
        return self.data.series if isinstance(self.data, InMemorySource) else None

    def bind(self, series: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """Attach in-memory series ``(n, C, T)`` (rows of step ``t`` from ``batch_rows``, RNG reseeded
        per step, so a resumed run replays), or ``None`` to train on a loader's batches. Labels are unused."""
        channels = self.encoder.input_dims
        if sample.dim() != 3 or sample.shape[1] != channels:
            raise ValueError(f"data: TS2Vec expects series (n, {channels}, length) for its {channels}-channel "
                             f"encoder, got samples of shape {tuple(sample.shape)}")
        if "source" in self._modules:
            del self._modules["source"]
        if series is not None:
            self.source = InMemorySource(series=series)
        else:
            self._source = LoaderSource(loader) if loader is not None else UnboundSource("TS2Vec")
        self._step_seeded = True

    def step_batch(self, step: int, batch: Any = None) -> dict[str, Tensor]:
        """``{"series": x}``: the step's rows (then the RNG reseeded for the step's crops and masks), or the
        loader's batch (reseeded only when bound, so a plain Lightning run keeps its RNG stream)."""
        if self.data.indexed:
            return super().step_batch(step, batch)
        if self._step_seeded:
            self.reseed(step)
        return {"series": batch if isinstance(batch, Tensor) else batch[0]}

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        x = batch["series"]
        v1, v2, length = ts2vec_crop_pair(x, min_length=2 ** (self.temporal_unit + 1))
        z1 = self.encoder(v1)[:, -length:]
        z2 = self.encoder(v2)[:, :length]
        return {"loss": hierarchical_contrastive_loss(z1, z2, alpha=self.alpha, temporal_unit=self.temporal_unit)}

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
