"""SASRec: a causal self-attention sequence encoder (Kang & McAuley, ICDM 2018, "Self-Attentive
Sequential Recommendation"), in the configuration RecBole ships (``recbole/model/sequential_recommender/
sasrec.py``: learned positions, post-LN transformer blocks with GELU, ``hidden_size 64, n_layers 2,
n_heads 2, inner_size 256``, dropout 0.5, weights ~ N(0, 0.02)).

Inputs are **left-padded** ``(B, L)`` item ids (``0`` = padding, ``n_items + 1`` = CL4SRec's mask token);
the representation of a sequence is the output at its last column (its most recent item). Scores over
the catalogue are inner products with the item embeddings of ids ``1..n_items``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.seqrec.data import PAD, check_item_ids


class SASRec(nn.Module):
    """SASRec encoder.

    Args:
        n_items: catalogue size (ids ``1..n_items``); the table also holds padding (0) and a mask token.
        max_len: longest input (positions).
        hidden_size, n_layers, n_heads, inner_size: transformer sizes (RecBole defaults).
        dropout: embedding, attention and residual dropout (RecBole ``hidden_dropout_prob`` and
            ``attn_dropout_prob``, both 0.5 by default).
        validate: check every input's ids (off inside hot loops once the data is known good).
    """

    def __init__(self, n_items: int, max_len: int = 50, *, hidden_size: int = 64, n_layers: int = 2,
                 n_heads: int = 2, inner_size: int = 256, dropout: float = 0.5, validate: bool = True) -> None:
        super().__init__()
        for value, name in ((n_items, "n_items"), (max_len, "max_len"), (hidden_size, "hidden_size"),
                            (n_layers, "n_layers"), (n_heads, "n_heads"), (inner_size, "inner_size")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if hidden_size % n_heads:
            raise ValueError(f"n_heads: {n_heads} does not divide hidden_size {hidden_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.n_items, self.max_len, self.hidden_size, self.n_heads = n_items, max_len, hidden_size, n_heads
        self.validate = validate
        self.item_embedding = nn.Embedding(n_items + 2, hidden_size, padding_idx=PAD)
        self.position_embedding = nn.Embedding(max_len, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(hidden_size, n_heads, inner_size, dropout, activation="gelu",
                                           batch_first=True, norm_first=False, layer_norm_eps=1e-12)
        self.blocks = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def _attention_mask(self, seq: Tensor) -> Tensor:
        """``(B * n_heads, L, L)`` bool, ``True`` = not attended: causal and no padding keys. Every
        query may attend to itself, so padded rows of a left-padded batch stay finite (their outputs
        are never read)."""
        L = seq.shape[1]
        causal = torch.ones(L, L, dtype=torch.bool, device=seq.device).tril()
        eye = torch.eye(L, dtype=torch.bool, device=seq.device)
        allowed = causal & ((seq != PAD)[:, None, :] | eye)
        return (~allowed).repeat_interleave(self.n_heads, dim=0)

    def forward(self, seq: Tensor) -> Tensor:
        """``(B, L)`` ids -> ``(B, L, hidden_size)`` outputs (position ``t`` sees items ``<= t``)."""
        if self.validate:
            check_item_ids(seq, self.n_items)
        if seq.shape[1] > self.max_len:
            raise ValueError(f"seq: length {seq.shape[1]} exceeds max_len {self.max_len}")
        positions = torch.arange(self.max_len - seq.shape[1], self.max_len, device=seq.device)
        x = self.item_embedding(seq) + self.position_embedding(positions)[None]
        x = self.dropout(self.norm(x))
        return self.blocks(x, mask=self._attention_mask(seq))

    def encode(self, seq: Tensor) -> Tensor:
        """``(B, L)`` ids -> ``(B, hidden_size)`` representation (the last column's output)."""
        return self(seq)[:, -1]

    @property
    def item_table(self) -> Tensor:
        """``(n_items, hidden_size)`` embeddings of items ``1..n_items`` (score column ``j`` = item ``j + 1``)."""
        return self.item_embedding.weight[1: self.n_items + 1]

    def scores(self, h: Tensor) -> Tensor:
        """``(B, hidden_size)`` -> ``(B, n_items)`` logits ``h E^T`` over the catalogue."""
        return h @ self.item_table.T

    @torch.no_grad()
    def full_scores(self, seq: Tensor, batch_size: int = 1024) -> Tensor:
        """``(U, n_items)`` scores of every input row for every item, in eval mode (restores the mode)."""
        was_training = self.training
        self.eval()
        try:
            return torch.cat([self.scores(self.encode(seq[i:i + batch_size]))
                              for i in range(0, seq.shape[0], batch_size)])
        finally:
            self.train(was_training)


__all__ = ["SASRec"]
