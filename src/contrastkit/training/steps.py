"""Step-indexed batches: the rows of the batch at global step ``t`` depend only on ``(seed, t)``.

Lightning iterates over a loader of ticks (:class:`StepTicks`); the module turns its global step
``t`` into row indices with :func:`batch_rows`. Because nothing depends on iterator position, a
run resumed from a mid-epoch checkpoint sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset


def batch_rows(step: int, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> Tensor:
    """Row indices of this rank's share of the global batch at ``step``.

    Epoch ``e = step // (n // batch_size)`` uses permutation ``randperm(n)`` seeded by
    ``(seed, e)``; the last incomplete batch of an epoch is dropped. Rank ``r`` takes rows
    ``r::world_size`` of the global batch, so the concatenation over ranks is the global batch.
    """
    if batch_size > n:
        raise ValueError(f"batch_size: {batch_size} exceeds the dataset size {n}")
    per_epoch = n // batch_size
    epoch, position = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(seed * 7919 + epoch)
    order = torch.randperm(n, generator=generator)
    rows = order[position * batch_size : (position + 1) * batch_size]
    return rows[rank::world_size]


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """The RNG seed of ``step`` on ``rank``: ``seed * 1_000_003 + step * 1009 + rank``.

    Reseeding per step (not once per run) is what makes a resumed run replay exactly; the rank term
    gives every process its own augmentation stream under DDP (rank 0 = the single-process stream).
    """
    return seed * 1_000_003 + step * 1009 + rank


class StepTicks(Dataset):
    """``length`` ticks for Lightning's loop; the data of a step comes from :func:`batch_rows`."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Tensor:
        return torch.tensor(i)
