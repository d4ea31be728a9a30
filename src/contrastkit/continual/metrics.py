"""Continual-learning metrics from the accuracy matrix ``A[t][j]`` = accuracy on task ``j``'s test classes
after training task ``t`` (``j <= t``).

- average accuracy after task ``t``: ``(1 / (t + 1)) sum_{j <= t} A[t][j]`` (Chaudhry et al., ECCV 2018);
  the reported "average accuracy" is its mean over ``t`` (FSC protocol of Cappellazzo et al.) and the
  "final average accuracy" its value at the last task;
- forgetting of task ``j`` after the last task ``T``: ``max_{t < T} A[t][j] - A[T][j]``, averaged over
  ``j < T`` (Chaudhry et al., ECCV 2018).
"""

from __future__ import annotations

from collections.abc import Sequence


def _check(matrix: Sequence[Sequence[float]]) -> None:
    if not matrix:
        raise ValueError("accuracies: expected at least one task")
    for t, row in enumerate(matrix):
        if len(row) < t + 1:
            raise ValueError(f"accuracies: row {t} needs the accuracy of tasks 0..{t}, got {len(row)} values")


def average_accuracy(matrix: Sequence[Sequence[float]], after: int | None = None) -> float:
    """Mean accuracy over tasks ``0..after`` after training task ``after`` (default: the last)."""
    _check(matrix)
    t = len(matrix) - 1 if after is None else after
    return sum(matrix[t][: t + 1]) / (t + 1)


def mean_average_accuracy(matrix: Sequence[Sequence[float]]) -> float:
    """:func:`average_accuracy` averaged over every task boundary."""
    _check(matrix)
    return sum(average_accuracy(matrix, t) for t in range(len(matrix))) / len(matrix)


def forgetting(matrix: Sequence[Sequence[float]]) -> float:
    """Mean over the old tasks of their best earlier accuracy minus the final one (0 with one task)."""
    _check(matrix)
    last = len(matrix) - 1
    if last == 0:
        return 0.0
    drops = [max(matrix[t][j] for t in range(j, last)) - matrix[last][j] for j in range(last)]
    return sum(drops) / len(drops)


__all__ = ["average_accuracy", "forgetting", "mean_average_accuracy"]
