"""TS2Vec dilated-convolution encoder (Yue et al., AAAI 2022, "TS2Vec: Towards Universal
Representation of Time Series").

``r = Dropout(DilatedConv(Mask(Linear(x))))``: an input projection per time step, a timestamp
mask (binomial or continuous spans, training only), then ``depth`` residual blocks of two
same-padded convolutions (kernel 3, dilation ``2^i``, GELU before each) and a last block to the
output width. Output: one ``output_dims`` vector per time step; the instance-level embedding is
the max over time (TS2Vec's instance representation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.timeseries.augment import keep_mask

MASK_MODES = ("binomial", "continuous", "all_true", "all_false", "mask_last")


class SamePadConv(nn.Module):
    """1-D convolution whose output keeps the input length (receptive field ``(k-1)d + 1``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        field = (kernel_size - 1) * dilation + 1
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=field // 2,
                              dilation=dilation)
        self.remove = 1 if field % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return out[:, :, : out.shape[-1] - self.remove] if self.remove else out


class ConvBlock(nn.Module):
    """Residual block ``x + conv2(gelu(conv1(gelu(x))))`` (1x1 projection when widths differ)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int,
                 final: bool = False):
        super().__init__()
        self.conv1 = SamePadConv(in_channels, out_channels, kernel_size, dilation)
        self.conv2 = SamePadConv(out_channels, out_channels, kernel_size, dilation)
        self.projector = (nn.Conv1d(in_channels, out_channels, 1)
                          if in_channels != out_channels or final else None)

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.projector is None else self.projector(x)
        return self.conv2(F.gelu(self.conv1(F.gelu(x)))) + residual


class DilatedConvEncoder(nn.Sequential):
    """Stack of :class:`ConvBlock` with dilations ``1, 2, 4, ...`` over ``(B, C, T)`` inputs."""

    def __init__(self, in_channels: int, channels: list[int], kernel_size: int = 3):
        blocks = [
            ConvBlock(channels[i - 1] if i > 0 else in_channels, channels[i], kernel_size,
                      dilation=2 ** i, final=(i == len(channels) - 1))
            for i in range(len(channels))
        ]
        super().__init__(*blocks)


class TSEncoder(nn.Module):
    """TS2Vec encoder with per-timestep and instance-level outputs.

    Args:
        input_dims: number of input channels ``C``.
        output_dims: representation width (TS2Vec default 320; miniatures use 64).
        hidden_dims: width of the dilated blocks (TS2Vec default 64).
        depth: number of hidden residual blocks (TS2Vec default 10).
        mask_mode: timestamp mask used in training when ``forward(mask=None)``:
            ``binomial`` (p = 0.5, TS2Vec), ``continuous`` (5 spans of 10 %, COMET), ``all_true``.
        dropout: dropout on the representation (TS2Vec: 0.1).

    Inputs are ``(B, C, T)`` (the loaders' layout). ``padding_mask`` ``(B, T)`` marks observed
    steps; padded steps and NaN steps are zeroed after the input projection (as TS2Vec does for
    NaN) and left out of the instance max-pool.
    """

    def __init__(self, input_dims: int, output_dims: int = 64, hidden_dims: int = 32,
                 depth: int = 3, mask_mode: str = "binomial", dropout: float = 0.1):
        super().__init__()
        for name, value in (("input_dims", input_dims), ("output_dims", output_dims),
                            ("hidden_dims", hidden_dims)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth: expected an integer >= 0, got {depth!r}")
        if mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode: unknown option {mask_mode!r}; expected one of {MASK_MODES}")
        self.input_dims, self.output_dims = input_dims, output_dims
        self.mask_mode = mask_mode
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        self.feature_extractor = DilatedConvEncoder(hidden_dims, [hidden_dims] * depth + [output_dims])
        self.repr_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: str | Tensor | None = None,
                padding_mask: Tensor | None = None) -> Tensor:
        """Per-timestep representations ``(B, T, output_dims)``.

        ``mask``: a mask mode name, a ``(B, T)`` bool keep-mask, or ``None`` (``mask_mode`` in
        training, ``all_true`` in eval).
        """
        if not isinstance(x, Tensor) or x.dim() != 3:
            raise ValueError(f"x: expected a tensor (batch, channels, length), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if x.shape[1] != self.input_dims:
            raise ValueError(f"x: expected {self.input_dims} channels, got {x.shape[1]}")
        b, _, t = x.shape
        observed = ~torch.isnan(x).any(dim=1)
        if padding_mask is not None:
            if padding_mask.shape != (b, t):
                raise ValueError(f"padding_mask: expected shape {(b, t)}, got {tuple(padding_mask.shape)}")
            observed = observed & padding_mask.bool()
        h = self.input_fc(torch.nan_to_num(x).transpose(1, 2))          # B x T x hidden
        keep = self._keep(mask, b, t, x.device) & observed
        h = h * keep.unsqueeze(-1).to(h.dtype)
        out = self.repr_dropout(self.feature_extractor(h.transpose(1, 2)))
        return out.transpose(1, 2)

    def _keep(self, mask: str | Tensor | None, b: int, t: int, device: torch.device) -> Tensor:
        if isinstance(mask, Tensor):
            if mask.shape != (b, t):
                raise ValueError(f"mask: expected a bool tensor of shape {(b, t)}, got {tuple(mask.shape)}")
            return mask.bool()
        mode = mask if mask is not None else (self.mask_mode if self.training else "all_true")
        if mode in ("binomial", "continuous"):
            return keep_mask(b, t, ratio=0.5, mode=mode, device=device)
        full = torch.ones(b, t, dtype=torch.bool, device=device)
        if mode == "all_true":
            return full
        if mode == "all_false":
            return ~full
        if mode == "mask_last":
            full[:, -1] = False
            return full
        raise ValueError(f"mask: unknown option {mode!r}; expected one of {MASK_MODES}")

    def encode(self, x: Tensor, padding_mask: Tensor | None = None, batch_size: int = 256) -> Tensor:
        """Instance embeddings ``(B, output_dims)``: max over observed steps, eval mode, no grad."""
        was_training = self.training
        self.eval()
        outs = []
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                pm = None if padding_mask is None else padding_mask[i:i + batch_size]
                outs.append(instance_pool(self(x[i:i + batch_size], mask="all_true", padding_mask=pm), pm))
        self.train(was_training)
        return torch.cat(outs)


def instance_pool(z: Tensor, padding_mask: Tensor | None = None) -> Tensor:
    """Max over time of ``(B, T, D)`` representations, ignoring padded steps: ``(B, D)``."""
    if padding_mask is not None:
        z = z.masked_fill(~padding_mask.bool().unsqueeze(-1), float("-inf"))
    return z.max(dim=1).values


__all__ = ["ConvBlock", "DilatedConvEncoder", "SamePadConv", "TSEncoder", "instance_pool"]
