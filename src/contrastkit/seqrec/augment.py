"""CL4SRec's sequence augmentations, batched on left-padded ``(B, L)`` item-id tensors.

Xie et al., ICDE 2022, "Contrastive Learning for Sequential Recommendation" (CL4SRec), Sec. III-B:

- **crop**: keep a random contiguous sub-sequence (CL4SRec's ``eta`` is the kept fraction; here
  ``p = 1 - eta`` is the fraction cut away, at least one item is kept);
- **mask**: replace ``floor(p * n)`` random items by a mask token (CL4SRec's ``gamma = p``);
- **reorder**: shuffle a random contiguous span of ``floor(p * n)`` items (CL4SRec's ``beta = p``).

``n`` is each row's number of items. Padding (id ``0``) is never touched and rows stay left-padded, so
the last column is always the most recent item; ``p = 0`` returns the input unchanged for every operation.
All randomness comes from the ``generator`` argument.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.seqrec.data import PAD

OPERATIONS = ("crop", "mask", "reorder")


def _check_rate(p: object, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name}: expected a rate in [0, 1], got {p!r}")
    return float(p)


def _check_seq(seq: object) -> Tensor:
    if not isinstance(seq, Tensor) or seq.dim() != 2:
        shape = tuple(seq.shape) if isinstance(seq, Tensor) else type(seq).__name__
        raise ValueError(f"seq: expected a (batch, length) tensor of item ids, got {shape}")
    if seq.dtype.is_floating_point or seq.dtype == torch.bool:
        raise TypeError(f"seq: expected an integer dtype, got {seq.dtype}")
    return seq


def _uniform_int(high: Tensor, generator: torch.Generator | None) -> Tensor:
    """One uniform integer in ``[0, high]`` per entry of ``high`` (``high >= 0``)."""
    u = torch.rand(high.shape, generator=generator, device=high.device)
    return torch.minimum((u * (high + 1).to(u.dtype)).long(), high)


def lengths(seq: Tensor) -> Tensor:
    """``(B,)`` number of items (non-padding entries) per row."""
    return (seq != PAD).sum(dim=1)


def crop(seq: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Keep a random contiguous ``n - floor(p n)`` items (at least 1) of each row, left-padded."""
    seq, p = _check_seq(seq), _check_rate(p, "p")
    B, L = seq.shape
    n = lengths(seq)
    keep = torch.clamp(n - torch.floor(p * n.double()).long(), min=1)
    keep = torch.minimum(keep, n)
    start = _uniform_int(n - keep, generator)             # offset inside the row's items
    col = torch.arange(L, device=seq.device).expand(B, L)
    j = col - (L - keep)[:, None]                         # position inside the kept window
    src = (L - n + start)[:, None] + j
    out = seq.gather(1, src.clamp(0, L - 1))
    return torch.where(j >= 0, out, torch.zeros_like(out))


def mask(seq: Tensor, p: float, mask_token: int, generator: torch.Generator | None = None) -> Tensor:
    """Replace ``floor(p n)`` uniformly chosen items of each row by ``mask_token``."""
    seq, p = _check_seq(seq), _check_rate(p, "p")
    n = lengths(seq)
    count = torch.floor(p * n.double()).long()
    keys = torch.rand(seq.shape, generator=generator, device=seq.device)
    keys = keys.masked_fill(seq == PAD, 2.0)              # padding sorts last: never chosen
    order = keys.argsort(dim=1)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(seq.shape[1], device=seq.device).expand_as(order))
    chosen = rank < count[:, None]
    return torch.where(chosen, torch.full_like(seq, mask_token), seq)


def reorder(seq: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Shuffle a random contiguous span of ``floor(p n)`` items in each row (the rest stays in place)."""
    seq, p = _check_seq(seq), _check_rate(p, "p")
    B, L = seq.shape
    n = lengths(seq)
    span = torch.floor(p * n.double()).long()
    start = (L - n) + _uniform_int(n - span, generator)   # first column of the span
    col = torch.arange(L, device=seq.device).expand(B, L)
    inside = (col >= start[:, None]) & (col < (start + span)[:, None])
    # Outside the span a column keeps its own index as sort key; inside it draws a key in
    # [start, start + span), so the sort permutes the span only.
    keys = torch.where(inside, start[:, None] + torch.rand(B, L, generator=generator, device=seq.device)
                       * span[:, None], col.double())
    return seq.gather(1, keys.argsort(dim=1))


class CL4SRecAugment:
    """One of crop / mask / reorder per row, drawn uniformly (CL4SRec's augmentation set ``A``).

    Defaults follow the CL4SRec code released with DuoRec (Qiu et al., WSDM 2022; ``eta = 0.6`` kept,
    so ``crop = 0.4``; ``gamma = 0.3``; ``beta = 0.6``).

    Args:
        mask_token: id of the mask item (``n_items + 1``).
        crop / mask / reorder: the rates of each operation (``p`` above); all 0 gives the identity.
        operations: the subset of ``("crop", "mask", "reorder")`` to draw from.
    """

    def __init__(self, mask_token: int, *, crop: float = 0.4, mask: float = 0.3, reorder: float = 0.6,
                 operations: tuple[str, ...] = OPERATIONS) -> None:
        self.mask_token = int(mask_token)
        self.rates = {"crop": _check_rate(crop, "crop"), "mask": _check_rate(mask, "mask"),
                      "reorder": _check_rate(reorder, "reorder")}
        bad = [o for o in operations if o not in OPERATIONS]
        if bad or not operations:
            raise ValueError(f"operations: expected a non-empty subset of {OPERATIONS}, got {operations!r}")
        self.operations = tuple(operations)

    def __call__(self, seq: Tensor, generator: torch.Generator | None = None) -> Tensor:
        seq = _check_seq(seq)
        choice = torch.randint(len(self.operations), (seq.shape[0],), generator=generator, device=seq.device)
        out = seq.clone()
        for index, op in enumerate(self.operations):
            rows = choice == index
            if not bool(rows.any()):
                continue
            part = seq[rows]
            if op == "crop":
                part = crop(part, self.rates["crop"], generator)
            elif op == "mask":
                part = mask(part, self.rates["mask"], self.mask_token, generator)
            else:
                part = reorder(part, self.rates["reorder"], generator)
            out[rows] = part
        return out


__all__ = ["OPERATIONS", "CL4SRecAugment", "crop", "lengths", "mask", "reorder"]
