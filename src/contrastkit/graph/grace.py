"""GRACE: node-level two-view InfoNCE on a graph (Zhu et al., 2020, "Deep Graph Contrastive Representation
Learning", arXiv:2006.04131, Eq. 1-2).

Two views ``G~_1, G~_2`` by :func:`~contrastkit.graph.augment.drop_edges` and column
:func:`~contrastkit.graph.augment.mask_features`; a shared GCN encoder; a two-layer ELU projection ``g``;
the loss of node ``i`` takes its other-view embedding as the positive and every other node of *both* views as
negatives (intra- and inter-view), symmetrised — exactly NT-Xent over ``2N`` anchors, so it is the core
:class:`contrastkit.losses.InfoNCE` in ``two_view`` mode with cosine similarity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.graph.augment import check_edge_index, drop_edges, mask_features
from contrastkit.graph.encoders import GCN
from contrastkit.losses import InfoNCE


class GRACE(nn.Module):
    """GRACE model: ``encoder`` GCN ``(in_dim -> hidden -> out_dim)`` and projection ``out -> proj -> out``.

    Call ``model.loss(x (N, F), edge_index (2, E), generator=None)`` for the training loss (scalar) and
    ``model(x, edge_index)`` for the ``(N, out_dim)`` node embeddings (encoder output, as evaluated).
    Defaults follow GRACE's Cora settings (``tau = 0.4``, ``p_e = 0.2 / 0.4``, ``p_f = 0.3 / 0.4``).
    """

    def __init__(self, in_dim: int, hidden_dim: int = 128, out_dim: int = 64, *, temperature: float = 0.4,
                 drop_edge: tuple[float, float] = (0.2, 0.4), drop_feature: tuple[float, float] = (0.3, 0.4)) -> None:
        super().__init__()
        self.encoder = GCN(in_dim, hidden_dim, out_dim)
        self.projection = nn.Sequential(nn.Linear(out_dim, out_dim), nn.ELU(), nn.Linear(out_dim, out_dim))
        self.criterion = InfoNCE(temperature, mode="two_view", similarity="cosine")
        self.drop_edge, self.drop_feature = drop_edge, drop_feature

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        check_edge_index(edge_index, x.shape[0])
        return self.encoder(x, edge_index)

    def loss(self, x: Tensor, edge_index: Tensor, generator: torch.Generator | None = None) -> Tensor:
        check_edge_index(edge_index, x.shape[0])
        views = [self.projection(self.encoder(mask_features(x, pf, generator=generator),
                                              drop_edges(edge_index, pe, num_nodes=x.shape[0], generator=generator)))
                 for pe, pf in zip(self.drop_edge, self.drop_feature, strict=True)]
        return self.criterion(*views)


def grace_reference_loss(h1: Tensor, h2: Tensor, temperature: float) -> Tensor:
    """GRACE's Eq. 1-2 written out (the official ``model.py`` ``semi_loss``), for tests."""
    def semi(a: Tensor, b: Tensor) -> Tensor:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
        refl, between = torch.exp(a @ a.T / temperature), torch.exp(a @ b.T / temperature)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))

    return 0.5 * (semi(h1, h2) + semi(h2, h1)).mean()


__all__ = ["GRACE", "grace_reference_loss"]
