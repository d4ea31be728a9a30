"""Train and evaluate a sequential recommender with RecBole's protocol (leave-one-out, full ranking).

:func:`fit_seqrec` binds ``data``'s training windows to a :class:`contrastkit.methods.sasrec.SASRecModule`
(or a subclass) as its in-memory source and trains it with :func:`contrastkit.training.fit` for
``epochs * (N // batch_size)`` steps (the rows of step ``t`` and its RNG depend only on ``(seed, t)``; an
epoch is one permutation of the ``N`` windows, the last incomplete batch dropped). The validation split is
evaluated every ``eval_every`` epochs, the state with the best validation ``select_metric`` is kept (RecBole
selects on ``valid_metric``; early stopping by patience is replaced by a fixed budget and best-state
selection) and the test metrics of that state are reported.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch

from contrastkit.evaluate.ranking import ranking_metrics
from contrastkit.methods.sasrec import SASRecModule
from contrastkit.seqrec.data import SeqRecData
from contrastkit.training import fit


def evaluate_seqrec(module: SASRecModule, data: SeqRecData, split: str = "test", *,
                    k: tuple[int, ...] = (5, 10, 20), exclude_seen: bool = False) -> dict[str, float]:
    """Full-ranking metrics on ``split`` for every user (``exclude_seen``: leave the history out of the
    ranking; RecBole's sequential evaluation does not, so the default is ``False``)."""
    inputs, targets = data.eval_inputs(split)
    scores = module.full_scores(inputs.to(module.device)).cpu()
    exclude = data.seen_mask(split) if exclude_seen else None
    return ranking_metrics(scores, targets - 1, k=k, exclude=exclude)


class _BestOnValid(L.Callback):
    """Validation every ``every`` epochs of ``per_epoch`` steps (and after the last step); keeps the best state."""

    def __init__(self, data: SeqRecData, every: int, per_epoch: int, total: int, metric: str) -> None:
        self.data, self.every, self.per_epoch, self.total, self.metric = data, every, per_epoch, total, metric
        self.done = 0
        self.best: float = -1.0
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[tuple[int, float]] = []

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        # counted here, not read from global_step: a manually optimised module (MCLRec) steps two optimizers
        self.done += 1
        epoch, rest = divmod(self.done, self.per_epoch)
        if (rest or epoch % self.every) and self.done != self.total:
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
        seed: the module's seed (step rows, augmentations, dropout).
        windows: ``"all"`` or ``"last"`` (:meth:`SeqRecData.train_windows`).
        eval_every: validation every this many epochs (and after the last).
        select_metric: validation metric that picks the reported state.
        trainer: extra ``lightning.Trainer`` arguments (default CPU, no logger, no checkpoints).

    Raises:
        ValueError: ``epochs`` < 1, ``batch_size`` < 2 or larger than the number of windows.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected an integer >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size: expected an integer >= 2 (contrastive terms need negatives), got {batch_size!r}")
    rows = data.train_windows(windows)
    n = len(rows[0])
    if batch_size > n:
        raise ValueError(f"batch_size: {batch_size} exceeds the {n} training windows")
    module.bind_windows(rows, batch_size=batch_size, seed=seed)
    per_epoch = n // batch_size
    steps = epochs * per_epoch
    best = _BestOnValid(data, eval_every, per_epoch, steps, select_metric)
    start = time.perf_counter()
    # One pass over the step ticks (max_epochs=1) rather than max_steps: a manually optimised module's
    # global_step counts every optimizer step.
    fit(module, trainer, loader=module.data.loader(steps), max_epochs=1, callbacks=[best])
    seconds = time.perf_counter() - start
    if best.best_state is not None:
        module.load_state_dict(best.best_state)
    test = evaluate_seqrec(module, data, "test")
    return SeqRecRun(test, best.best, best.best_epoch, seconds, steps * batch_size / seconds, best.history)


__all__ = ["SeqRecRun", "evaluate_seqrec", "fit_seqrec"]
