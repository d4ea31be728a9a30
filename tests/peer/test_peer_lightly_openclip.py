"""Parity with lightly (NT-Xent, DCL, DCLW) and open_clip (ClipLoss).

Both peers need torchvision, which here means the torch 2.14.1 build, so these tests run only in
the separate ``.venv-peers`` environment: ``scripts/peer_parity.sh`` (``make peer-parity``) runs
``pytest -m peer tests/peer``. In the core environment they are deselected (``-m 'not peer'``)
and would skip for the missing imports.

Every case runs the peer's real loss class on fixed random float64 batches and compares the loss
value and the gradients with respect to every input (and open_clip's logit scale) to 1e-6.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.losses import DCL, DCLW, InfoNCE

pytestmark = pytest.mark.peer

lightly_loss = pytest.importorskip("lightly.loss")
open_clip_loss = pytest.importorskip("open_clip.loss")

TOL = 1e-6
DTYPE = torch.float64


def _leaves(*shapes: tuple[int, ...], seed: int) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=DTYPE).requires_grad_() for s in shapes]


def _value_and_grads(fn: Callable[..., Tensor], inputs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    loss = fn(*inputs)
    return loss.detach(), [g.detach() for g in torch.autograd.grad(loss, inputs)]


def _assert_parity(ours: Callable[..., Tensor], peer: Callable[..., Tensor], inputs: list[Tensor]) -> None:
    value, grads = _value_and_grads(ours, inputs)
    peer_value, peer_grads = _value_and_grads(peer, inputs)
    assert value.dtype == DTYPE and peer_value.dtype == DTYPE
    torch.testing.assert_close(value, peer_value, atol=TOL, rtol=TOL)
    for g, pg in zip(grads, peer_grads, strict=True):
        assert g.abs().sum() > 0  # a zero gradient would make the comparison vacuous
        torch.testing.assert_close(g, pg, atol=TOL, rtol=TOL)


SIZES = [(8, 16, 0.1), (33, 7, 0.5), (64, 32, 0.2)]


# ----------------------------------------------------------------------------------- lightly
# lightly's NTXentLoss without a memory bank is SimCLR's two-view loss with 2N - 2 negatives,
# i.e. InfoNCE(mode="two_view"). Its memory-bank mode (negatives from a queue, the in-batch
# views not used as negatives) is a different objective and is not compared.
@pytest.mark.parametrize(("n", "d", "tau"), SIZES)
def test_lightly_ntxent(n: int, d: int, tau: float) -> None:
    peer = lightly_loss.NTXentLoss(temperature=tau)
    ours = InfoNCE(temperature=tau, mode="two_view")
    _assert_parity(lambda a, b: ours(a, b), lambda a, b: peer(a, b), _leaves((n, d), (n, d), seed=n))


# lightly's DCLLoss averages the two views' losses; each anchor's denominator holds the other
# 2N - 2 samples of both views (the positive removed): contrastkit's DCL in two-view mode.
@pytest.mark.parametrize(("n", "d", "tau"), SIZES)
def test_lightly_dcl(n: int, d: int, tau: float) -> None:
    peer = lightly_loss.DCLLoss(temperature=tau)
    ours = DCL(temperature=tau)
    _assert_parity(lambda a, b: ours(a, b), lambda a, b: peer(a, b), _leaves((n, d), (n, d), seed=100 + n))


# DCLW: lightly's weight 2 - N softmax_i(cos(a_i, b_i) / sigma) over the N pairs, detached. Ours
# takes the softmax over the 2N anchors of both views, where each pair's similarity appears
# twice, which is the same weight.
@pytest.mark.parametrize(("n", "d", "tau"), SIZES)
@pytest.mark.parametrize("sigma", [0.5, 0.2])
def test_lightly_dclw(n: int, d: int, tau: float, sigma: float) -> None:
    peer = lightly_loss.DCLWLoss(temperature=tau, sigma=sigma)
    ours = DCLW(temperature=tau, sigma=sigma)
    _assert_parity(lambda a, b: ours(a, b), lambda a, b: peer(a, b), _leaves((n, d), (n, d), seed=200 + n))


# ----------------------------------------------------------------------------------- open_clip
# ClipLoss takes already-normalised features and a logit scale (1 / tau); the model normalises.
# Single process only (world_size=1); its gathered modes are covered by our distributed tests.
@pytest.mark.parametrize(("n", "d", "tau"), SIZES)
def test_open_clip_clip_loss(n: int, d: int, tau: float) -> None:
    peer = open_clip_loss.ClipLoss()
    ours = InfoNCE(temperature=tau, mode="symmetric")

    def peer_fn(a: Tensor, b: Tensor) -> Tensor:
        return peer(F.normalize(a, dim=1), F.normalize(b, dim=1), logit_scale=1 / tau)

    _assert_parity(lambda a, b: ours(a, b), peer_fn, _leaves((n, d), (n, d), seed=300 + n))


@pytest.mark.parametrize("tile_size", [None, 7])
def test_open_clip_learnable_logit_scale(tile_size: int | None) -> None:
    """CLIP trains ``logit_scale`` (as a log): its gradient matches too, dense and tiled."""
    n, d = 20, 12
    ours = InfoNCE(mode="symmetric", tile_size=tile_size)
    peer = open_clip_loss.ClipLoss()
    a, b, log_scale = _leaves((n, d), (n, d), (), seed=400)

    def ours_fn(a: Tensor, b: Tensor, log_scale: Tensor) -> Tensor:
        return ours(a, b, temperature=torch.exp(-log_scale))

    def peer_fn(a: Tensor, b: Tensor, log_scale: Tensor) -> Tensor:
        return peer(F.normalize(a, dim=1), F.normalize(b, dim=1), logit_scale=log_scale.exp())

    _assert_parity(ours_fn, peer_fn, [a, b, log_scale])


@pytest.mark.parametrize(
    ("make_ours", "make_peer", "symmetric"),
    [
        (lambda: InfoNCE(0.2, tile_size=5), lambda: lightly_loss.NTXentLoss(temperature=0.2), False),
        (lambda: DCL(0.2, tile_size=5), lambda: lightly_loss.DCLLoss(temperature=0.2), False),
        (lambda: DCLW(0.2, tile_size=5), lambda: lightly_loss.DCLWLoss(temperature=0.2), False),
        (lambda: InfoNCE(0.2, mode="symmetric", tile_size=5), lambda: open_clip_loss.ClipLoss(), True),
    ],
    ids=["ntxent", "dcl", "dclw", "clip"],
)
def test_tiled_matches_peers(make_ours: Callable, make_peer: Callable, symmetric: bool) -> None:
    """The tiled path (tile smaller than the batch) agrees with the peers as well."""
    ours, peer = make_ours(), make_peer()

    def peer_fn(a: Tensor, b: Tensor) -> Tensor:
        if symmetric:
            return peer(F.normalize(a, dim=1), F.normalize(b, dim=1), logit_scale=5.0)
        return peer(a, b)

    _assert_parity(lambda a, b: ours(a, b), peer_fn, _leaves((17, 9), (17, 9), seed=500))


def test_parity_detects_a_definition_change() -> None:
    """The comparison can fail: DCL is not NT-Xent (the positive leaves the denominator)."""
    a, b = _leaves((16, 8), (16, 8), seed=600)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(DCL(0.1)(a, b), lightly_loss.NTXentLoss(temperature=0.1)(a, b),
                                   atol=TOL, rtol=TOL)
