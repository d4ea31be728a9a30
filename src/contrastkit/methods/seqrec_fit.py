"""Train and evaluate a sequential recommender with RecBole's protocol (leave-one-out, full ranking).

:func:`fit_seqrec` trains a :class:`contrastkit.methods.sasrec.SASRecModule` (or a subclass) with Lightning on
the training windows, evaluates the validation split every ``eval_every`` epochs, keeps the state with the
best validation ``select_metric`` (RecBole selects on ``valid_metric``; early stopping by patience is
replaced by a fixed budget and best-state selection) and reports the test metrics of that state.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from contrastkit.evaluate.ranking import ranking_metrics
from contrastkit.methods.sasrec import SASRecModule
from contrastkit.seqrec.data import SeqRecData


def evaluate_seqrec(module: SASRecModule, data: SeqRecData, split: str = "test", *,
                    k: tuple[int, ...] = (5, 10, 20), exclude_seen: bool = False) -> dict[str, float]:
    """Full-ranking metrics on ``split`` for every user (``exclude_seen``: leave the history out of the
    ranking; RecBole's sequential evaluation does not, so the default is ``False``)."""
    inputs, targets = data.eval_inputs(split)
    scores = module.full_scores(inputs.to(module.device)).cpu()
    exclude = data.seen_mask(split) if exclude_seen else None
    return ranking_metrics(scores, targets - 1, k=k, exclude=exclude)


class _BestOnValid(L.Callback):
    def __init__(self, data: SeqRecData, every: int, metric: str) -> None:
        self.data, self.every, self.metric = data, every, metric
        self.best: float = -1.0
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[tuple[int, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every and epoch != trainer.max_epochs:
            return
        value = evaluate_seqrec(module, self.data, "valid")[self.metric]  # type: ignore[arg-type]
        self.history.append((epoch, value))
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            self.best_state = copy.deepcopy(module.state_dict())


@dataclass
class SeqRecRun:
    """Outcome of :func:`fit_seqrec`."""

    test: dict[str, float]
    valid: float
    best_epoch: int
    seconds: float
    sequences_per_second: float
    valid_history: list[tuple[int, float]] = field(default_factory=list)


def fit_seqrec(module: SASRecModule, data: SeqRecData, *, epochs: int, batch_size: int = 256, seed: int = 0,
               windows: str = "all", eval_every: int = 5, select_metric: str = "NDCG@10",
               trainer: dict[str, Any] | None = None) -> SeqRecRun:
    """Train ``module`` on ``data``'s training windows and return the test metrics of the best-validation state.

    Args:
        epochs: passes over the training windows.
        batch_size: windows per step.
        seed: seeds Lightning (weights, dropout) and the shuffling.
        windows: ``"all"`` or ``"last"`` (:meth:`SeqRecData.train_windows`).
        eval_every: validation every this many epochs (and after the last).
        select_metric: validation metric that picks the reported state.
        trainer: extra ``lightning.Trainer`` arguments (default CPU, no logger, no checkpoints).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected an integer >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size: expected an integer >= 2 (contrastive terms need negatives), got {batch_size!r}")
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    L.seed_everything(seed, verbose=False)
    inputs, targets, users = data.train_windows(windows)
    loader = DataLoader(TensorDataset(inputs, targets, users), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed), drop_last=len(inputs) > batch_size)
    best = _BestOnValid(data, eval_every, select_metric)
    options = {"accelerator": "cpu", "devices": 1, "enable_checkpointing": False, "logger": False} | (trainer or {})
    start = time.perf_counter()
    L.Trainer(max_epochs=epochs, enable_progress_bar=False, enable_model_summary=False, callbacks=[best],
              **options).fit(module, loader)
    seconds = time.perf_counter() - start
    if best.best_state is not None:
        module.load_state_dict(best.best_state)
    test = evaluate_seqrec(module, data, "test")
    steps = epochs * len(loader)
    return SeqRecRun(test, best.best, best.best_epoch, seconds, steps * batch_size / seconds, best.history)


__all__ = ["SeqRecRun", "evaluate_seqrec", "fit_seqrec"]
