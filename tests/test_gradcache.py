"""GradCache gradients == the uncached gradients (same dropout masks), float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.losses import InfoNCE
from contrastkit.methods.gradcache import GradCache, grad_cache_step

B, D_IN, D_OUT, CHUNK = 11, 7, 5, 4  # 11 rows in chunks of 4, 4, 3


def _encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D_IN, 16), nn.Dropout(0.3), nn.Tanh(), nn.Linear(16, D_OUT)).double()


def _data():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, D_IN, generator=g, dtype=torch.float64),
            torch.randn(B, D_IN, generator=g, dtype=torch.float64))


def _uncached(encoders, inputs, loss_fn, chunk):
    # Reference: the same chunk-by-chunk forward (same random stream), but with a full graph.
    embs = [torch.cat([enc(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])
            for enc, x in zip(encoders, inputs, strict=True)]
    loss = loss_fn(*embs)
    loss.backward()
    return loss.detach()


def _grads(modules):
    return [p.grad.clone() for m in modules for p in m.parameters()]


@pytest.mark.parametrize("mode", ["symmetric", "two_view"])
def test_cached_equals_uncached_with_dropout(mode):
    x1, x2 = _data()
    loss_fn = InfoNCE(0.2, mode=mode, tile_size=4)
    encoders = [_encoder(1), _encoder(2)]
    torch.manual_seed(123)
    ref_loss = _uncached(encoders, (x1, x2), loss_fn, CHUNK)
    ref = _grads(encoders)

    encoders = [_encoder(1), _encoder(2)]
    torch.manual_seed(123)
    loss = grad_cache_step(encoders, (x1, x2), loss_fn, CHUNK)
    got = _grads(encoders)
    assert encoders[0].training  # dropout active
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-12)
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-6, atol=1e-12)
    # The rng after the step is where the uncached run leaves it.
    encoders = [_encoder(1), _encoder(2)]
    torch.manual_seed(123)
    _uncached(encoders, (x1, x2), loss_fn, CHUNK)
    after_ref = torch.rand(3)
    encoders = [_encoder(1), _encoder(2)]
    torch.manual_seed(123)
    grad_cache_step(encoders, (x1, x2), loss_fn, CHUNK)
    torch.testing.assert_close(torch.rand(3), after_ref)


def test_without_replay_the_gradients_differ(monkeypatch):
    # Guard against a test that cannot fail: break the replay, the gradients must change.
    from contrastkit.methods import gradcache

    x1, x2 = _data()
    loss_fn = InfoNCE(0.2, mode="symmetric")
    torch.manual_seed(5)
    enc = _encoder(1)
    grad_cache_step(enc, (x1, x2), loss_fn, CHUNK)
    good = _grads([enc])
    monkeypatch.setattr(gradcache._RandomState, "replay", lambda self: torch.random.fork_rng())
    torch.manual_seed(5)
    enc = _encoder(1)
    grad_cache_step(enc, (x1, x2), loss_fn, CHUNK)
    bad = _grads([enc])
    assert max(float((g - b).abs().max()) for g, b in zip(good, bad, strict=True)) > 1e-6


def test_shared_encoder_eval_equals_full_batch():
    x1, x2 = _data()
    loss_fn = InfoNCE(0.2)
    enc = _encoder(3).eval()
    full = loss_fn(enc(x1), enc(x2))
    full.backward()
    ref = _grads([enc])
    enc.zero_grad()
    loss = GradCache(enc, loss_fn, chunk_size=3)(x1, x2)
    torch.testing.assert_close(loss, full.detach(), rtol=1e-10, atol=0)
    for g, r in zip(_grads([enc]), ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-14)


def test_dict_inputs_and_errors():
    class KeywordEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(D_IN, D_OUT).double()

        def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
            return self.lin(x) * scale

    x1, x2 = _data()
    enc = KeywordEncoder()
    scale = torch.linspace(1, 2, B, dtype=torch.float64).unsqueeze(1)
    inputs = ({"x": x1, "scale": scale}, {"x": x2, "scale": scale})
    loss_fn = InfoNCE(0.3)
    full = loss_fn(enc(x1, scale), enc(x2, scale))
    full.backward()
    ref = _grads([enc])
    enc.zero_grad()
    grad_cache_step(enc, inputs, loss_fn, 5)
    for g, r in zip(_grads([enc]), ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="chunk_size"):
        grad_cache_step(enc, inputs, loss_fn, 0)
    with pytest.raises(ValueError, match="encoders"):
        grad_cache_step([enc], inputs, loss_fn, 2)
    with pytest.raises(TypeError, match="inputs"):
        grad_cache_step(enc, x1, loss_fn, 2)
