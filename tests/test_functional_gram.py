"""``symmetric_gram``: the same values and gradients as autograd's ``u @ u.T``.

The strips and blocks are shrunk so that small inputs cross every boundary (strips, blocks, a last
partial strip / block), with and without the triangular forward.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.functional import gram
from contrastkit.functional.gram import symmetric_gram
from contrastkit.losses import InfoNCE


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gram, "STRIP", 8)
    monkeypatch.setattr(gram, "BLOCK", 3)


@pytest.mark.parametrize("triangle", [True, False])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 23])
def test_values_and_gradient_match_autograd(small_blocks: None, monkeypatch: pytest.MonkeyPatch,
                                            n: int, triangle: bool) -> None:
    monkeypatch.setattr(gram, "TRIANGLE_MIN_DIM", 1 if triangle else 10**9)
    g = torch.Generator().manual_seed(n)
    u = torch.randn(n, 5, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(n, n, generator=g, dtype=torch.float64)  # not symmetric
    got = symmetric_gram(u)
    want = u @ u.T
    torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-13)
    (grad_got,) = torch.autograd.grad(got, u, upstream)
    (grad_want,) = torch.autograd.grad(want, u, upstream)
    torch.testing.assert_close(grad_got, grad_want, rtol=1e-12, atol=1e-12)


def test_second_derivative(small_blocks: None) -> None:
    u = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(symmetric_gram, (u,))
    assert torch.autograd.gradgradcheck(symmetric_gram, (u,))


def test_bfloat16_close_to_float32(small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gram, "TRIANGLE_MIN_DIM", 1)
    u = torch.randn(19, 6)
    ub = u.to(torch.bfloat16).requires_grad_()
    up = torch.randn(19, 19)
    (grad,) = torch.autograd.grad(symmetric_gram(ub), ub, up.to(torch.bfloat16))
    ref = u.to(torch.bfloat16).float()
    torch.testing.assert_close(symmetric_gram(ub).float(), ref @ ref.T, rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(grad.float(), (up + up.T) @ ref, rtol=3e-2, atol=5e-2)


def test_rejects_non_matrix() -> None:
    with pytest.raises(ValueError, match=r"u: expected a 2-D \(n, d\) tensor"):
        symmetric_gram(torch.zeros(3))


@pytest.mark.parametrize("labels", [None, "classes"])
def test_dense_two_view_loss_unchanged(small_blocks: None, monkeypatch: pytest.MonkeyPatch,
                                       labels: str | None) -> None:
    """The dense two-view loss (NT-Xent pairs, SupCon per-class sums) through the symmetric Gram
    equals a naive float64 NT-Xent / SupCon, value and gradient."""
    monkeypatch.setattr(gram, "TRIANGLE_MIN_DIM", 1)
    n, tau = 13, 0.2
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
    ids = torch.arange(n) % 2 if labels else torch.arange(n)
    kwargs = {"labels": ids} if labels else {}
    value = InfoNCE(tau, mode="two_view", tile_size=None)(a, b, **kwargs)
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1)
    both = torch.cat([ids, ids])
    logits = z @ z.T / tau
    eye = torch.eye(2 * n, dtype=torch.bool)
    pos = (both[:, None] == both[None]) & ~eye
    lse = torch.logsumexp(logits.masked_fill(eye, float("-inf")), 1)
    want = (lse - (logits * pos).sum(1) / pos.sum(1)).mean()
    torch.testing.assert_close(value, want, rtol=1e-12, atol=1e-12)
    got_grads = torch.autograd.grad(value, [a, b])
    want_grads = torch.autograd.grad(want, [a, b])
    for got, ref in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
