"""A small audio encoder for log-mel features: two strided 1-D convolutions, a bidirectional GRU and
masked mean pooling over the valid frames."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AudioEncoder(nn.Module):
    """``(B, n_mels, T)`` log-mel features (+ lengths ``(B,)``) -> ``(B, out_dim)`` utterance embeddings.

    Per-utterance mean/variance normalisation of the features over the valid frames, conv(5, stride 2) x 2
    with GELU (T / 4 frames), a 1-layer bidirectional GRU over the packed valid frames and the mean of its
    outputs over them: an utterance's embedding does not depend on the padding of its batch (tested).
    """

    def __init__(self, n_mels: int = 80, hidden: int = 96, out_dim: int = 128) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, hidden, 5, stride=2, padding=2)
        self.conv2 = nn.Conv1d(hidden, hidden, 5, stride=2, padding=2)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, out_dim)
        self.n_mels, self.out_dim = n_mels, out_dim

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        if features.dim() != 3 or features.shape[1] != self.n_mels:
            raise ValueError(f"features: expected (B, {self.n_mels}, T) log-mel features, got {tuple(features.shape)}")
        b, _, t = features.shape
        lengths = torch.full((b,), t, device=features.device) if lengths is None else lengths.to(features.device)
        valid = torch.arange(t, device=features.device)[None, :] < lengths[:, None]  # (B, T)
        m = valid[:, None, :].float()
        count = m.sum(-1, keepdim=True).clamp_min(1)
        mean = (features * m).sum(-1, keepdim=True) / count
        std = (((features - mean) * m).pow(2).sum(-1, keepdim=True) / count).sqrt().clamp_min(1e-3)
        x = ((features - mean) / std) * m
        # after each strided conv, frames past an utterance's end are zeroed again, so padding never leaks
        for conv in (self.conv1, self.conv2):
            x = nn.functional.gelu(conv(x))
            lengths = torch.div(lengths + 1, 2, rounding_mode="floor").clamp_min(1)
            x = x * (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(1)
        packed = nn.utils.rnn.pack_padded_sequence(x.transpose(1, 2), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.gru(packed)
        x, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[-1])
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None].to(x.device)).unsqueeze(-1)
        pooled = (x * mask).sum(1) / mask.sum(1)
        return self.out(pooled)


__all__ = ["AudioEncoder"]
