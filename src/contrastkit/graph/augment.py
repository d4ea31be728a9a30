"""Graph augmentations for two-view contrastive learning: edge dropping and feature masking.

GRACE (Zhu et al., 2020, "Deep Graph Contrastive Representation Learning", ICML GRL+ workshop) removes each
edge with probability ``p_e`` and zeroes each feature *dimension* (column) with probability ``p_f``; MEOW
(Yu et al., SDM 2023, official code ``code_meow/module/preprocess.py``) zeroes individual non-zero *entries*
and drops a fraction of each meta-path graph's edges. ``p = 0`` returns the input unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit._validation import check_choice


def check_probability(p: object, name: str = "p") -> float:
    """``p`` as a float in [0, 1] (``ValueError`` naming ``name`` otherwise)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= float(p) <= 1:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    return float(p)


def check_edge_index(edge_index: object, num_nodes: int, name: str = "edge_index") -> Tensor:
    """A ``(2, E)`` integer tensor whose entries lie in ``[0, num_nodes)`` (errors name ``name``)."""
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"{name}: expected a (2, E) integer tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype.is_floating_point \
            or edge_index.dtype == torch.bool:
        raise ValueError(f"{name}: expected a (2, E) integer tensor, got shape {tuple(edge_index.shape)} "
                         f"and dtype {edge_index.dtype}")
    if num_nodes < 1:
        raise ValueError(f"{name}: the graph is empty (0 nodes)")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"{name}: node ids must lie in [0, {num_nodes}), got ids in "
                         f"[{int(edge_index.min())}, {int(edge_index.max())}]")
    return edge_index


def drop_edges(edge_index: Tensor, p: float, *, num_nodes: int | None = None,
               generator: torch.Generator | None = None) -> Tensor:
    """Keep each column of ``edge_index`` ``(2, E)`` independently with probability ``1 - p``.

    Returns a ``(2, E')`` view-free copy (the input itself when ``p = 0``). ``num_nodes`` (default: max id
    + 1) is checked against the ids. Raises ``ValueError`` for ``p`` outside [0, 1] or ids out of range.
    """
    p = check_probability(p)
    n = num_nodes if num_nodes is not None else (int(edge_index.max()) + 1 if edge_index.numel() else 1)
    check_edge_index(edge_index, n)
    if p == 0:
        return edge_index
    keep = torch.rand(edge_index.shape[1], generator=generator, device=edge_index.device) >= p
    return edge_index[:, keep]


def mask_features(x: Tensor, p: float, *, per: str = "column", generator: torch.Generator | None = None) -> Tensor:
    """Zero features of ``x`` ``(N, F)`` with probability ``p``: whole columns (``per="column"``, GRACE) or
    single entries (``per="entry"``, MEOW). Returns ``x`` itself when ``p = 0``.

    Raises:
        ValueError: ``p`` outside [0, 1], ``x`` not 2-D or empty, ``per`` unknown.
    """
    p = check_probability(p)
    per = check_choice(per, "per", ("column", "entry"))
    if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected a non-empty (N, F) feature tensor, got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    if p == 0:
        return x
    shape = (1, x.shape[1]) if per == "column" else tuple(x.shape)
    keep = torch.rand(shape, generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype)


__all__ = ["check_edge_index", "check_probability", "drop_edges", "mask_features"]
