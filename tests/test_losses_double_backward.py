"""Second derivatives through the fused InfoNCE kernels: first order only, and said so.

The dense and tiled kernels are custom autograd functions whose backward is not itself
differentiable. ``create_graph=True`` must still give the exact first derivative (compared with a
naive float64 loss) or refuse at once (a kernel whose saved buffers do not link to its inputs),
and differentiating that gradient again must raise, never return a second derivative that
silently treats the kernel's gradient as a constant.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE

N, D, TAU = 9, 4, 0.3


def _reference(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "symmetric":
        logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / TAU
        target = torch.arange(N)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    z = F.normalize(torch.cat([a, b]), dim=1)
    ids = torch.cat([labels, labels])
    logits = z @ z.T / TAU
    eye = torch.eye(2 * N, dtype=torch.bool)
    pos = (ids[:, None] == ids[None]) & ~eye
    lse = torch.logsumexp(logits.masked_fill(eye, float("-inf")), 1)
    return (lse - (logits * pos).sum(1) / pos.sum(1)).mean()


CASES = {
    "ntxent": ("two_view", torch.arange(N)),
    "supcon": ("two_view", torch.arange(N) % 3),
    "supcon_one_class": ("two_view", torch.zeros(N, dtype=torch.long)),
    "clip": ("symmetric", torch.arange(N)),
}


@pytest.mark.parametrize("tile_size", [None, 4])
@pytest.mark.parametrize("case", list(CASES))
def test_create_graph_first_order_exact_and_second_order_refused(case: str, tile_size: int | None) -> None:
    mode, labels = CASES[case]
    g = torch.Generator().manual_seed(3)
    a = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    loss = InfoNCE(TAU, mode=mode, tile_size=tile_size)
    kwargs = {} if mode == "symmetric" else {"labels": labels}
    value = loss(a, b, **kwargs)
    try:
        grad_a, grad_b = torch.autograd.grad(value, [a, b], create_graph=True)
    except RuntimeError as error:
        assert "second derivative" in str(error) and tile_size is None  # the tiled kernel links
        return
    ref_a, ref_b = torch.autograd.grad(_reference(a, b, labels, mode), [a, b])
    torch.testing.assert_close(grad_a, ref_a, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad_b, ref_b, rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad((grad_a**2).sum() + grad_b.sum(), [a])


def test_tiled_siglip_second_order_refused() -> None:
    from contrastkit.losses import SigLIP

    g = torch.Generator().manual_seed(4)
    a = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    (grad_tiled,) = torch.autograd.grad(SigLIP(tile_size=2)(a, b), [a], create_graph=True)
    (grad_dense,) = torch.autograd.grad(SigLIP(tile_size=None)(a, b), [a])
    torch.testing.assert_close(grad_tiled, grad_dense, rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad(grad_tiled.sum(), [a])
