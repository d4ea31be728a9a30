"""Rehearsal memories for experience replay: reservoir sampling and a class-balanced buffer.

Both store integer indices into the training set (the caller keeps the data), are seeded, and are
deterministic given the order of :meth:`add` calls.
"""

from __future__ import annotations

import random
from collections.abc import Iterable


class ReservoirBuffer:
    """Vitter's reservoir sampling (algorithm R): after ``n`` offers each is kept with probability
    ``capacity / n``."""

    def __init__(self, capacity: int, *, seed: int = 0) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity: expected an integer >= 1, got {capacity!r}")
        self.capacity, self.offered, self.items = capacity, 0, []
        self._rng = random.Random(seed)

    def add(self, indices: Iterable[int], labels: Iterable[int] | None = None) -> None:
        for index in indices:
            self.offered += 1
            if len(self.items) < self.capacity:
                self.items.append(int(index))
            else:
                j = self._rng.randrange(self.offered)
                if j < self.capacity:
                    self.items[j] = int(index)

    def indices(self) -> list[int]:
        return list(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ClassBalancedBuffer:
    """At most ``per_class`` samples of every class seen so far, drawn uniformly at random from that class's
    offered samples (a per-class reservoir), so old classes keep their share as new ones arrive."""

    def __init__(self, per_class: int, *, seed: int = 0) -> None:
        if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
            raise ValueError(f"per_class: expected an integer >= 1, got {per_class!r}")
        self.per_class, self._seed = per_class, seed
        self.by_class: dict[int, ReservoirBuffer] = {}

    def add(self, indices: Iterable[int], labels: Iterable[int] | None = None) -> None:
        if labels is None:
            raise ValueError("labels: a class-balanced buffer needs the label of every offered sample")
        indices, labels = list(indices), [int(y) for y in labels]
        if len(indices) != len(labels):
            raise ValueError(f"labels: expected {len(indices)} labels, got {len(labels)}")
        for index, label in zip(indices, labels, strict=True):
            if label not in self.by_class:
                self.by_class[label] = ReservoirBuffer(self.per_class, seed=self._seed * 1_000_003 + label)
            self.by_class[label].add([index])

    def indices(self) -> list[int]:
        return [i for label in sorted(self.by_class) for i in self.by_class[label].indices()]

    def __len__(self) -> int:
        return sum(len(b) for b in self.by_class.values())


__all__ = ["ClassBalancedBuffer", "ReservoirBuffer"]
