"""Graph encoders on PyG message passing: a two-layer GCN (Kipf & Welling, ICLR 2017) with PReLU and a
final parameter-free LayerNorm, the encoder of HeCo/MEOW (official code ``code_meow/module/encoder.py``), and
HAN's semantic attention (Wang et al., WWW 2019) that fuses per-meta-path embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GCN(nn.Module):
    """``LayerNorm(A_hat PReLU(A_hat X W_1) W_2)`` with ``A_hat`` the symmetric-normalised adjacency with
    self-loops (``torch_geometric.nn.GCNConv``).

    Call: ``gcn(x (N, in_dim), edge_index (2, E)) -> (N, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.conv1, self.conv2 = GCNConv(in_dim, hidden_dim), GCNConv(hidden_dim, out_dim)
        self.act = nn.PReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = self.act(self.conv1(self.dropout(x), edge_index))
        h = self.conv2(self.dropout(h), edge_index)
        return F.layer_norm(h, h.shape[-1:])


class SemanticAttention(nn.Module):
    """HAN's semantic-level attention: ``beta = softmax_m(q^T mean_i tanh(W z_m_i + b))``, ``z = sum_m beta_m z_m``.

    Call: ``att(list of M tensors (N, d)) -> (z (N, d), beta (M,))``.
    """

    def __init__(self, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        nn.init.xavier_normal_(self.fc.weight, gain=1.414)
        self.query = nn.Parameter(torch.empty(1, dim))
        nn.init.xavier_normal_(self.query, gain=1.414)
        self.dropout = nn.Dropout(dropout)

    def forward(self, views: list[Tensor]) -> tuple[Tensor, Tensor]:
        query = self.dropout(self.query)
        scores = torch.cat([query @ torch.tanh(self.fc(z)).mean(0, keepdim=True).T for z in views]).flatten()
        beta = torch.softmax(scores, dim=0)
        return sum(b * z for b, z in zip(beta, views, strict=True)), beta


__all__ = ["GCN", "SemanticAttention"]
