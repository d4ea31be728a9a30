"""Parity of :class:`contrastkit.losses.SigLIP` with open_clip's ``SigLipLoss`` (single process).

Runs in the separate ``.venv-peers`` environment (``scripts/peer_parity.sh``); in the core
environment it is deselected (``-m 'not peer'``) and would skip for the missing import. open_clip's
loss takes L2-normalised features and the (already exponentiated) logit scale and the bias; the
loss value and the gradients with respect to the features, the log-scale and the bias are
compared on float64 batches to 1e-6.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.losses import SigLIP

pytestmark = pytest.mark.peer

open_clip_loss = pytest.importorskip("open_clip.loss")

TOL = 1e-6
DTYPE = torch.float64


def _leaves(n: int, d: int, seed: int) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=gen, dtype=DTYPE)
    b = a + torch.randn(n, d, generator=gen, dtype=DTYPE)
    log_scale = torch.tensor(1.7, dtype=DTYPE)  # t = e^1.7 ~ 5.5
    bias = torch.tensor(-3.0, dtype=DTYPE)
    return [x.requires_grad_() for x in (a, b, log_scale, bias)]


@pytest.mark.parametrize(("n", "d"), [(1, 4), (8, 16), (33, 7)])
@pytest.mark.parametrize("tile_size", [None, 5])
def test_open_clip_siglip(n: int, d: int, tile_size: int | None) -> None:
    ours = SigLIP(tile_size=tile_size)
    peer = open_clip_loss.SigLipLoss()
    inputs = _leaves(n, d, seed=600 + n)

    def ours_fn(a: Tensor, b: Tensor, log_scale: Tensor, bias: Tensor) -> Tensor:
        return ours(a, b, scale=log_scale.exp(), bias=bias)

    def peer_fn(a: Tensor, b: Tensor, log_scale: Tensor, bias: Tensor) -> Tensor:
        return peer(F.normalize(a, dim=1), F.normalize(b, dim=1), log_scale.exp(), bias)

    value = ours_fn(*inputs)
    grads = torch.autograd.grad(value, inputs)
    peer_value = peer_fn(*inputs)
    peer_grads = torch.autograd.grad(peer_value, inputs)
    assert value.dtype == DTYPE
    torch.testing.assert_close(value, peer_value, atol=TOL, rtol=TOL)
    for g, pg in zip(grads, peer_grads, strict=True):
        assert g.abs().sum() > 0  # a zero gradient would make the comparison vacuous
        torch.testing.assert_close(g, pg, atol=TOL, rtol=TOL)


def test_open_clip_siglip_learnable_parameters() -> None:
    """``learnable=True`` holds ``t' = log t`` and ``b``: same value and parameter gradients."""
    ours = SigLIP(learnable=True).double()
    peer = open_clip_loss.SigLipLoss()
    a, b, _, _ = _leaves(12, 6, seed=700)
    value = ours(a, b)
    log_scale = torch.tensor(float(torch.log(torch.tensor(10.0))), dtype=DTYPE, requires_grad=True)
    bias = torch.tensor(-10.0, dtype=DTYPE, requires_grad=True)
    peer_value = peer(F.normalize(a, dim=1), F.normalize(b, dim=1), log_scale.exp(), bias)
    torch.testing.assert_close(value, peer_value, atol=TOL, rtol=TOL)
    ours_grads = torch.autograd.grad(value, [ours.log_scale, ours.logit_bias])
    peer_grads = torch.autograd.grad(peer_value, [log_scale, bias])
    for g, pg in zip(ours_grads, peer_grads, strict=True):
        torch.testing.assert_close(g, pg, atol=TOL, rtol=TOL)
