"""DBPM's training module: SimCLR on series whose per-pair NT-Xent is re-weighted by Dynamic Bad Pair Mining.

Lan et al., ICLR 2024, "Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining
Approach" (code: DL4mHealth/DBPM). The loss is the core ``InfoNCE(tau, reduction="none")`` of the weak and
strong views (the two directions averaged), the miner :class:`contrastkit.mining.dbpm.DBPM` keeps each
pair's loss history and down-weights the pairs whose history marks them as noisy or faulty positives after
``warmup`` epochs; the training step is the shared :class:`contrastkit.methods.ts_contrastive.TSSimCLR`.
"""

from __future__ import annotations

from typing import Any

from contrastkit.methods.ts_contrastive import TSSimCLR
from contrastkit.mining.dbpm import DBPM
from contrastkit.timeseries.encoder import TSEncoder


class DBPMSimCLR(TSSimCLR):
    """SimCLR for series with DBPM's bad-pair re-weighting (the paper's method; TSSimCLR without it is the baseline).

    Args:
        encoder: series encoder (the representation is its max-pooled output).
        num_pairs: training-set size (one loss history per row; batches carry the row ``index``).
        max_epochs: epochs of the run (the miner's history length).
        warmup: epochs before the miner starts re-weighting.
        beta_np, beta_fp: the miner's thresholds for noisy / faulty positives (paper 2.0 / 3.0).
        **kwargs: :class:`TSSimCLR` settings (``head_hidden``, ``head_out``, ``temperature``, ``lr``,
            ``weak_view``, ``strong_view``).

    Raises:
        ValueError: bad miner sizes (from :class:`DBPM`).
    """

    def __init__(self, encoder: TSEncoder, *, num_pairs: int, max_epochs: int, warmup: int, beta_np: float = 2.0,
                 beta_fp: float = 3.0, **kwargs: Any) -> None:
        # the miner is built before the module (as the reproduction always did), so seeded runs are unchanged
        miner = DBPM(num_pairs, max_epochs, warmup, beta_np=beta_np, beta_fp=beta_fp)
        super().__init__(encoder, miner=miner, **kwargs)


__all__ = ["DBPMSimCLR"]
