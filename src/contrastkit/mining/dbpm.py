"""Dynamic Bad Pair Mining (DBPM): loss-history memory, bad-pair detection and re-weighting.

Lan, Yan, Hong, Feng, ICLR 2024, "Towards Enhancing Time Series Contrastive Learning: A Dynamic
Bad Pair Mining Approach" (code: lanxiang1017/DynamicBadPairMining_ICLR24).

A positive pair ``i`` (one training sample and its two views) keeps its training loss of every
epoch, ``M_i = (l_i^(1), ..., l_i^(e))``. At the start of epoch ``e`` (from ``warmup`` on):

- historical statistic ``m_i = (1/e) sum_{t=1..e} (t / E) l_i^(t)`` (``E`` = max epochs),
- ``mu = mean_i m_i``, ``s = std_i m_i``,
- noisy positive pairs ``NP = {i : m_i <= mu - beta_np s}`` (consistently small loss: the two views
  share only noise), faulty positive pairs ``FP = {i : m_i >= mu + beta_fp s}`` (consistently large
  loss: the augmentation destroyed the semantics); paper defaults ``beta_np = 2``, ``beta_fp = 3``,
- re-weighting ``l_i <- w_i l_i`` for ``i in NP ∪ FP`` with ``w_i = N(l_i; mu, s^2)``, the Gaussian
  pdf at the pair's *current* (detached) loss; other pairs keep weight 1.

The pdf is not bounded by 1: when ``s < 1/sqrt(2 pi)`` a flagged pair can be *up*-weighted. The
official code does this; ``normalize_weights=True`` divides by ``N(mu; mu, s^2)`` so ``w_i <= 1``.

The miner works with any per-sample loss, e.g. ``InfoNCE(reduction="none")`` which returns the
``(N,)`` per-pair losses (both directions averaged)::

    miner = DBPM(num_pairs=len(dataset), max_epochs=E, warmup=W)
    for epoch in range(E):
        miner.start_epoch(epoch)
        for x, index in loader:
            per_pair = loss_fn(f(aug1(x)), f(aug2(x)))       # (N,), reduction="none"
            loss = miner(per_pair, index).mean()            # records, then re-weights
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class DBPM:
    """Per-pair loss memory with DBPM's bad-pair detection and Gaussian re-weighting.

    Args:
        num_pairs: number of training pairs (dataset size); pairs are addressed by index.
        max_epochs: ``E`` of the time weight ``t / E``.
        warmup: first epoch at which pairs are flagged and re-weighted (paper: 50 of 80 epochs).
        beta_np, beta_fp: thresholds in standard deviations (paper: 2 and 3).
        normalize_weights: divide weights by the pdf's peak so that ``w <= 1``.
    """

    citation = "Lan et al. 2024, ICLR, Towards Enhancing Time Series Contrastive Learning: DBPM"

    def __init__(self, num_pairs: int, max_epochs: int, warmup: int, *, beta_np: float = 2.0,
                 beta_fp: float = 3.0, normalize_weights: bool = False) -> None:
        for name, value, low in (("num_pairs", num_pairs, 1), ("max_epochs", max_epochs, 1),
                                 ("warmup", warmup, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
        for name, value in (("beta_np", beta_np), ("beta_fp", beta_fp)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
        self.num_pairs, self.max_epochs, self.warmup = num_pairs, max_epochs, warmup
        self.beta_np, self.beta_fp = float(beta_np), float(beta_fp)
        self.normalize_weights = normalize_weights
        self.memory = torch.full((num_pairs, max_epochs), float("nan"), dtype=torch.float64)
        self.epoch = 0
        self.mu: float | None = None
        self.std: float | None = None
        self.noisy = torch.zeros(num_pairs, dtype=torch.bool)
        self.faulty = torch.zeros(num_pairs, dtype=torch.bool)

    # ------------------------------------------------------------------ memory
    def record(self, index: Tensor, losses: Tensor, epoch: int | None = None) -> None:
        """Store the (detached) per-pair losses of ``index`` for ``epoch`` (default: current)."""
        index, losses = self._check(index, losses)
        e = self.epoch if epoch is None else epoch
        if not 0 <= e < self.max_epochs:
            raise ValueError(f"epoch: expected 0 <= epoch < max_epochs={self.max_epochs}, got {e}")
        self.memory[index, e] = losses.detach().to(torch.float64).cpu()

    def statistic(self, epoch: int | None = None) -> Tensor:
        """``m_i = mean over recorded epochs t < e of ((t + 1) / E) l_i^(t)``; NaN if never seen."""
        e = self.epoch if epoch is None else epoch
        past = self.memory[:, :e]
        weight = torch.arange(1, e + 1, dtype=torch.float64) / self.max_epochs
        seen = ~torch.isnan(past)
        total = torch.where(seen, past * weight, torch.zeros_like(past)).sum(1)
        count = seen.sum(1)
        return torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, float("nan")))

    def start_epoch(self, epoch: int) -> None:
        """Enter ``epoch``; from ``warmup`` on, recompute ``mu``, ``s`` and the NP / FP sets."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < self.max_epochs:
            raise ValueError(f"epoch: expected an integer in [0, {self.max_epochs}), got {epoch!r}")
        self.epoch = epoch
        if epoch < self.warmup or epoch == 0:
            self.mu = self.std = None
            self.noisy.zero_()
            self.faulty.zero_()
            return
        m = self.statistic(epoch)
        valid = ~torch.isnan(m)
        if valid.sum() < 2:
            raise ValueError("losses: fewer than two pairs have a recorded loss before the warm-up ends")
        values = m[valid]
        self.mu, self.std = float(values.mean()), float(values.std(unbiased=False))
        self.noisy = valid & (m <= self.mu - self.beta_np * self.std)
        self.faulty = valid & (m >= self.mu + self.beta_fp * self.std)

    # ------------------------------------------------------------------ weights
    @property
    def active(self) -> bool:
        return self.mu is not None

    def weights(self, index: Tensor, losses: Tensor) -> Tensor:
        """``w_i = N(l_i; mu, s^2)`` for flagged pairs, 1 otherwise (all 1 before warm-up)."""
        index, losses = self._check(index, losses)
        w = torch.ones_like(losses, dtype=losses.dtype)
        if not self.active:
            return w
        assert self.mu is not None and self.std is not None
        std = max(self.std, 1e-12)
        z = (losses.detach() - self.mu) / std
        pdf = torch.exp(-0.5 * z * z) / (std * math.sqrt(2 * math.pi))
        if self.normalize_weights:
            pdf = pdf * (std * math.sqrt(2 * math.pi))
        flagged = (self.noisy | self.faulty)[index.cpu()].to(losses.device)
        return torch.where(flagged, pdf.to(losses.dtype), w)

    def __call__(self, losses: Tensor, index: Tensor, *, record: bool = True) -> Tensor:
        """Record ``losses`` (per pair, shape ``(N,)``) and return them re-weighted."""
        if record:
            self.record(index, losses)
        return losses * self.weights(index, losses)

    def flagged(self) -> dict[str, Tensor]:
        """Indices of the current noisy (``"noisy"``) and faulty (``"faulty"``) pairs."""
        return {"noisy": torch.nonzero(self.noisy).flatten(),
                "faulty": torch.nonzero(self.faulty).flatten()}

    def _check(self, index: Tensor, losses: Tensor) -> tuple[Tensor, Tensor]:
        if not isinstance(losses, Tensor) or losses.dim() != 1:
            raise ValueError("losses: expected per-pair losses of shape (N,) "
                             "(use reduction='none'), got "
                             f"{getattr(losses, 'shape', type(losses).__name__)}")
        if not isinstance(index, Tensor) or index.dtype.is_floating_point or index.shape != losses.shape:
            raise ValueError(f"index: expected integer pair indices of shape {tuple(losses.shape)}, got "
                             f"{getattr(index, 'shape', type(index).__name__)}")
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.num_pairs):
            raise ValueError(f"index: expected values in [0, {self.num_pairs}), got "
                             f"[{int(index.min())}, {int(index.max())}]")
        if not torch.isfinite(losses).all():
            raise ValueError("losses: contains NaN or inf values")
        return index, losses


def flag_precision_recall(flagged: Tensor, planted: Tensor) -> tuple[float, float]:
    """Precision and recall of flagged pair indices against planted ones (``nan`` precision if
    nothing is flagged)."""
    f = set(flagged.tolist())
    p = set(planted.tolist())
    hits = len(f & p)
    precision = hits / len(f) if f else float("nan")
    recall = hits / len(p) if p else float("nan")
    return precision, recall


__all__ = ["DBPM", "flag_precision_recall"]
