"""TS2Vec encoder: shapes, masks, padding-aware pooling, receptive field."""

import pytest
import torch

from contrastkit.timeseries import TSEncoder, instance_pool


def test_shapes_and_eval_determinism():
    torch.manual_seed(0)
    enc = TSEncoder(3, output_dims=16, hidden_dims=8, depth=2)
    x = torch.randn(5, 3, 37)
    assert enc(x).shape == (5, 37, 16)
    enc.eval()
    torch.testing.assert_close(enc(x), enc(x))
    emb = enc.encode(x)
    torch.testing.assert_close(emb, enc(x).max(dim=1).values)


def test_receptive_field_is_local():
    torch.manual_seed(0)
    enc = TSEncoder(1, output_dims=4, hidden_dims=4, depth=2).eval()  # dilations 1, 2, 4
    x = torch.randn(1, 1, 64)
    y = x.clone()
    y[0, 0, 0] += 10.0
    diff = (enc(x) - enc(y)).abs().sum(-1)[0]
    # two convs per block with kernel 3: field radius (1 + 2 + 4) * 2 = 14 steps
    assert diff[:15].sum() > 0 and diff[15:].abs().max() == 0


def test_padding_mask_pooling():
    torch.manual_seed(0)
    enc = TSEncoder(2, output_dims=8, hidden_dims=8, depth=1).eval()
    x = torch.randn(2, 2, 20)
    pad = torch.ones(2, 20, dtype=torch.bool)
    pad[0, 12:] = False
    z = enc(x, padding_mask=pad)
    pooled = instance_pool(z, pad)
    torch.testing.assert_close(pooled[0], z[0, :12].max(0).values)
    # padded inputs are zeroed after the input projection, like TS2Vec's NaN handling
    x_nan = x.clone()
    x_nan[0, :, 12:] = float("nan")
    torch.testing.assert_close(enc(x_nan)[0], z[0])


def test_masks():
    enc = TSEncoder(1, output_dims=4, hidden_dims=4, depth=1, dropout=0.0)
    x = torch.randn(3, 1, 10)
    torch.testing.assert_close(enc(x, mask="all_false")[0], enc(torch.zeros_like(x), mask="all_false")[0])
    with pytest.raises(ValueError, match="mask_mode"):
        TSEncoder(1, mask_mode="nope")
    with pytest.raises(ValueError, match="channels"):
        enc(torch.randn(3, 2, 10))
