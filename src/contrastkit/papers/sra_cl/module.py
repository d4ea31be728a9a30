"""SRA-CL (Cui et al., NeurIPS 2025, "Semantic Retrieval Augmented Contrastive Learning for Sequential
Recommendation"; official code ziqiangcui/SRA-CL ``recommender_code/model.py``).

``L = L_rec + alpha * L_user + beta * L_item`` on a SASRec encoder ``h``:

- **item level**: two views of each window in which every item is replaced, with probability ``p``, by a
  uniformly drawn item of its semantic neighbour set ``N_k(i)`` (:func:`semantic_substitute`);
  ``L_item = InfoNCE(h(s~1), h(s~2))``;
- **user level**: the semantic neighbours ``v in N_k(u)`` of the user are weighted by GAT-style attention
  ``alpha_uv = softmax_v(LeakyReLU(a^T [W e_u || W e_v]))`` (dropout on ``alpha`` in training) and their
  training sequences re-encoded: ``p_u = sum_v alpha_uv h(s_v)``; ``L_user = InfoNCE(h(s_u), p_u)``.

Both InfoNCE terms are NT-Xent with dot similarity and temperature 1 (official ``--temperature 1.0``).
The semantic embeddings ``e^s`` and neighbour tables come from :mod:`contrastkit.seqrec.semantic`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses import InfoNCE
from contrastkit.methods.sasrec import Batch, SASRecModule
from contrastkit.seqrec.data import PAD
from contrastkit.seqrec.encoders import SASRec


def semantic_substitute(seq: Tensor, neighbours: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Replace each non-padding item ``i`` of ``seq (B, L)``, with probability ``p``, by a uniform draw from
    ``neighbours[i]`` (``neighbours (n_items + 2, k)`` item ids, :func:`item_neighbour_table`)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    k = neighbours.shape[1]
    swap = (seq != PAD) & (torch.rand(seq.shape, generator=generator) < p)
    pick = torch.randint(k, seq.shape, generator=generator)
    replaced = neighbours[seq, pick]
    return torch.where(swap, replaced, seq)


class UserAttention(nn.Module):
    """``alpha_uv = softmax_v(LeakyReLU(a^T [W e_u || W e_v]))`` over a user's semantic neighbours."""

    def __init__(self, semantic_dim: int, hidden_size: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.W = nn.Linear(semantic_dim, hidden_size, bias=False)
        self.a = nn.Linear(2 * hidden_size, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, e_u: Tensor, e_v: Tensor) -> Tensor:
        """``e_u (B, ds)``, ``e_v (B, k, ds)`` -> ``(B, k)`` weights (rows sum to 1 in eval mode)."""
        wu, wv = self.W(e_u), self.W(e_v)
        pair = torch.cat([wu[:, None].expand_as(wv), wv], dim=-1)
        alpha = torch.softmax(nn.functional.leaky_relu(self.a(pair).squeeze(-1), 0.2), dim=-1)
        return self.dropout(alpha)


class SRACL(SASRecModule):
    """SRA-CL on a SASRec encoder.

    Args:
        encoder: :class:`contrastkit.seqrec.SASRec`.
        item_neighbours: ``(n_items + 2, k)`` neighbour item ids per item id.
        user_neighbours: ``(n_users, k_u)`` neighbour user indices per user.
        user_semantic: ``(n_users, ds)`` user semantic embeddings ``e_u^s``.
        user_sequences: ``(n_users, L)`` left-padded training sequences (the neighbours' ``s_v``).
        alpha: weight of ``L_user`` (0.1); beta: weight of ``L_item`` (0.1).
        substitute_p: item substitution probability (0.2).
        attention_dropout: dropout on ``alpha_uv`` (0.5).
        kwargs: :class:`~contrastkit.methods.sasrec.SASRecModule` settings (``windows``, ``batch_size``, ``lr``,
            ``weight_decay``, ``seed``); substitutions draw from the global RNG, reseeded every step.
    """

    def __init__(self, encoder: SASRec, *, item_neighbours: Tensor, user_neighbours: Tensor, user_semantic: Tensor,
                 user_sequences: Tensor, alpha: float = 0.1, beta: float = 0.1, substitute_p: float = 0.2,
                 temperature: float = 1.0, similarity: str = "dot", attention_dropout: float = 0.5,
                 **kwargs: Any) -> None:
        super().__init__(encoder, **kwargs)
        if item_neighbours.shape[0] != encoder.n_items + 2:
            raise ValueError(f"item_neighbours: expected {encoder.n_items + 2} rows (one per item id incl. padding "
                             f"and mask), got {item_neighbours.shape[0]}")
        n_users = user_semantic.shape[0]
        if user_neighbours.shape[0] != n_users or user_sequences.shape[0] != n_users:
            raise ValueError(f"user_neighbours/user_sequences: expected {n_users} rows (as user_semantic), got "
                             f"{user_neighbours.shape[0]} / {user_sequences.shape[0]}")
        self.register_buffer("item_neighbours", item_neighbours.long(), persistent=False)
        self.register_buffer("user_neighbours", user_neighbours.long(), persistent=False)
        self.register_buffer("user_semantic", user_semantic.float(), persistent=False)
        self.register_buffer("user_sequences", user_sequences.long(), persistent=False)
        self.alpha, self.beta, self.substitute_p = float(alpha), float(beta), float(substitute_p)
        self.attention = UserAttention(user_semantic.shape[1], encoder.hidden_size, attention_dropout)
        self.cl_loss = InfoNCE(temperature, similarity=similarity)

    def item_loss(self, inputs: Tensor) -> Tensor:
        v1 = semantic_substitute(inputs.cpu(), self.item_neighbours.cpu(), self.substitute_p)
        v2 = semantic_substitute(inputs.cpu(), self.item_neighbours.cpu(), self.substitute_p)
        return self.cl_loss(self.encoder.encode(v1.to(inputs.device)), self.encoder.encode(v2.to(inputs.device)))

    def user_positive(self, users: Tensor) -> Tensor:
        """``(B, d)`` attention-weighted representation of each user's semantic neighbours."""
        neigh = self.user_neighbours[users]                              # (B, k)
        alpha = self.attention(self.user_semantic[users], self.user_semantic[neigh])
        unique, inverse = torch.unique(neigh, return_inverse=True)       # encode each neighbour once
        h_v = self.encoder.encode(self.user_sequences[unique])[inverse]  # (B, k, d)
        return (alpha[..., None] * h_v).sum(dim=1)

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        inputs, targets, users = batch
        rec, hidden = self.rec_loss(inputs, targets)
        out = {"rec": rec}
        loss = rec
        if self.alpha > 0:
            out["user"] = self.cl_loss(hidden[:, -1], self.user_positive(users))
            loss = loss + self.alpha * out["user"]
        if self.beta > 0:
            out["item"] = self.item_loss(inputs)
            loss = loss + self.beta * out["item"]
        out["loss"] = loss
        return out


__all__ = ["SRACL", "UserAttention", "semantic_substitute"]
