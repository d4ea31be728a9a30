"""The fused fast paths of the InfoNCE kernels give the same values and gradients as the plain ones.

- ``normalize_scaled``: ``scale * normalize(x)`` in one autograd step, scale-safe fallback outside
  the range where squaring the entries is exact enough;
- the tiled kernel's base-2 logits with a fixed zero shift (``|t| <= window / 2``) and with the
  per-tile shift (wider logits), against the dense path and a naive float64 loss;
- dense CLIP's shared row/column exponential and its per-direction fallback.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.functional import forms
from contrastkit.functional import tiled as tiled_module
from contrastkit.functional.similarity import normalize, normalize_scaled
from contrastkit.losses import InfoNCE


# ------------------------------------------------------------------------------ normalize_scaled
@pytest.mark.parametrize("scale", [1.0, 1 / 0.07, "tensor"])
def test_normalize_scaled_equals_normalize_times_scale(scale: object) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(11, 5, generator=g, dtype=torch.float64, requires_grad=True)
    up = torch.randn(11, 5, generator=g, dtype=torch.float64)
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    s = tau**-1.0 if scale == "tensor" else scale
    got = normalize_scaled(x, s)
    want = normalize(x) * s
    assert torch.allclose(got, want, rtol=1e-15, atol=1e-15)
    leaves = [x, tau] if scale == "tensor" else [x]
    g_got = torch.autograd.grad((got * up).sum(), leaves)
    g_want = torch.autograd.grad(((normalize(x) * (tau**-1.0 if scale == "tensor" else s)) * up).sum(), leaves)
    for a, b in zip(g_got, g_want, strict=True):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(lambda v: normalize_scaled(v, 2.5), (x,))


@pytest.mark.parametrize("row", [1e30, 1e-30, 0.0])
def test_normalize_scaled_out_of_range_rows_fall_back(row: float) -> None:
    # float32 norms of 1e30 overflow when squared, 1e-30 underflow, 0 has no direction: the
    # scale-safe path takes the whole batch, and gives normalize's values (a zero row stays 0).
    x = torch.randn(6, 4)
    x[2] = row * torch.ones(4) if row else 0.0
    x.requires_grad_()
    got = normalize_scaled(x, 3.0)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, normalize(x) * 3.0)
    got.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_normalize_scaled_half_bad_shape_and_second_order() -> None:
    x = torch.randn(5, 3).half()
    assert torch.allclose(normalize_scaled(x, 2.0).float(), (normalize(x) * 2.0).float())
    with pytest.raises(ValueError, match="x: expected a 2-D"):
        normalize_scaled(torch.randn(2, 3, 4))
    v = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(normalize_scaled(v, 2.0).pow(2).sum(), v, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivative"):
        grad.sum().backward()


# ------------------------------------------------------------------------------ tiled: both shifts
N, D, TILE = 21, 6, 8


def _naive(a: torch.Tensor, b: torch.Tensor, tau: float, mode: str, labels: torch.Tensor | None) -> torch.Tensor:
    if mode == "symmetric":
        logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / tau
        target = torch.arange(a.shape[0])
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = a.shape[0]
    ids = torch.cat([labels, labels]) if labels is not None else torch.arange(n).repeat(2)
    logits = z @ z.T / tau
    eye = torch.eye(2 * n, dtype=torch.bool)
    pos = (ids[:, None] == ids[None]) & ~eye
    lse = torch.logsumexp(logits.masked_fill(eye, float("-inf")), 1)
    return (lse - (logits * pos).sum(1) / pos.sum(1)).mean()


@pytest.fixture
def shifts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``fixed`` flag of every forward tile (True: zero shift, False: per-tile shift)."""
    seen: list[bool] = []
    original = tiled_module._forward_tile

    def spy(*args):  # type: ignore[no-untyped-def]
        seen.append(args[-1])
        return original(*args)

    monkeypatch.setattr(tiled_module, "_forward_tile", spy)
    return seen


@pytest.mark.parametrize("case", ["ntxent", "supcon", "clip"])
@pytest.mark.parametrize(("tau", "fixed"), [(0.2, True), (0.002, False)])
@pytest.mark.parametrize("cache_mb", [0, 64])
def test_tiled_base2_shifts_match_naive(case: str, tau: float, fixed: bool, cache_mb: float,
                                        shifts: list[bool]) -> None:
    # |t| <= log2(e) / tau: 7.2 bits at tau = 0.2 (within float64's window / 2 = 433 bits: fixed
    # zero shift), 721 bits at tau = 0.002 (per-tile shift).
    g = torch.Generator().manual_seed(3)
    a = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 4, (N,), generator=g) if case == "supcon" else None
    mode = "symmetric" if case == "clip" else "two_view"
    loss = InfoNCE(tau, mode=mode, tile_size=TILE, tile_cache_mb=cache_mb)
    got = loss(a, b, labels=labels) if labels is not None else loss(a, b)
    assert shifts and set(shifts) == {fixed}
    want = _naive(a, b, tau, mode, labels)
    assert abs(float(got.detach() - want.detach())) <= 1e-12 * max(1.0, abs(float(want.detach())))
    for x, y in zip(torch.autograd.grad(got, [a, b]), torch.autograd.grad(want, [a, b]), strict=True):
        assert torch.allclose(x, y, rtol=1e-10, atol=1e-13)


def test_tiled_float32_and_bfloat16_inputs_match_float64() -> None:
    g = torch.Generator().manual_seed(4)
    a = torch.randn(40, 16, generator=g, dtype=torch.float64)
    b = torch.randn(40, 16, generator=g, dtype=torch.float64)
    want = _naive(a, b, 0.1, "symmetric", None)
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 2e-2)):
        got = InfoNCE(0.1, mode="symmetric", tile_size=TILE)(a.to(dtype), b.to(dtype))
        assert abs(float(got) - float(want)) <= tol * float(want)


def test_recompute_keeps_only_the_scratch_between_calls() -> None:
    loss = InfoNCE(0.2, mode="symmetric", tile_size=TILE, tile_cache_mb=0)
    a = torch.randn(N, D, dtype=torch.float64, requires_grad=True)
    loss(a, torch.randn(N, D, dtype=torch.float64)).backward()
    assert loss._tile_cache.nbytes == tiled_module.SCRATCH_TILES * TILE * TILE * 8


# ------------------------------------------------------------------------------ dense CLIP
@pytest.fixture
def dense_shift(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    seen: list[float | None] = []
    original = forms._shared_shift

    def spy(x: torch.Tensor, n: int) -> float | None:
        out = original(x, n)
        seen.append(out)
        return out

    monkeypatch.setattr(forms, "_shared_shift", spy)
    return seen


@pytest.mark.parametrize(("tau", "shared"), [(0.1, True), (0.0005, False)])
@pytest.mark.parametrize("negatives", [False, True])
def test_dense_clip_shared_exp_and_fallback_match_naive(tau: float, shared: bool, negatives: bool,
                                                       dense_shift: list[float | None]) -> None:
    # tau = 0.0005: logits span about +-2000 nats, so some row maxima lie more than float64's
    # 600-nat window below the global maximum and the per-direction softmax takes over.
    g = torch.Generator().manual_seed(6)
    a = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    extra = torch.randn(5, D, generator=g, dtype=torch.float64, requires_grad=True)
    loss = InfoNCE(tau, mode="symmetric", tile_size=None)
    got = loss(a, b, negatives=extra) if negatives else loss(a, b)
    assert dense_shift and all((s is not None) == shared for s in dense_shift)
    za, zb, ze = (F.normalize(t, dim=1) for t in (a, b, extra))
    cands = torch.cat([zb, ze]) if negatives else zb
    target = torch.arange(N)
    want = (F.cross_entropy(za @ cands.T / tau, target) + F.cross_entropy(zb @ za.T / tau, target)) / 2
    assert math.isclose(float(got.detach()), float(want.detach()), rel_tol=1e-12, abs_tol=1e-12)
    leaves = [a, b, extra] if negatives else [a, b]
    for x, y in zip(torch.autograd.grad(got, leaves), torch.autograd.grad(want, leaves), strict=True):
        assert torch.allclose(x, y, rtol=1e-10, atol=1e-12)


def test_dense_clip_retained_graph_gives_the_same_gradient_twice() -> None:
    a = torch.randn(N, D, dtype=torch.float64, requires_grad=True)
    b = torch.randn(N, D, dtype=torch.float64)
    value = InfoNCE(0.1, mode="symmetric", tile_size=None)(a, b)
    first = torch.autograd.grad(value, [a], retain_graph=True)[0]
    second = torch.autograd.grad(value, [a])[0]
    assert torch.equal(first, second)


@pytest.mark.parametrize("n_rows,n_cols,k", [(6, 6, 0), (6, 9, 0), (6, 6, 2), (6, 6, 3), (7, 7, 5)])
def test_aligned_dots_match_a_gather(n_rows: int, n_cols: int, k: int) -> None:
    """The slice-based positive dots equal ``<x_i, y_{(i + k) mod C}>`` by gather, values and gradients."""
    from contrastkit.functional.tiled import _aligned_dots

    gen = torch.Generator().manual_seed(n_rows * 10 + k)
    x = torch.randn(n_rows, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(n_cols, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    rows = torch.arange(n_rows)
    cols = (rows + k) % n_cols
    got = _aligned_dots(rows, cols, n_rows, x, y)
    assert got is not None
    want = (x * y[cols]).sum(1)
    torch.testing.assert_close(got, want)
    g = torch.randn(n_rows, generator=gen, dtype=torch.float64)
    gx, gy = torch.autograd.grad(got, (x, y), g)
    wx, wy = torch.autograd.grad(want, (x, y), g)
    torch.testing.assert_close(gx, wx)
    torch.testing.assert_close(gy, wy)


def test_aligned_dots_two_views_against_themselves() -> None:
    """Shared two-view pairs (``y is x``, ``k = n / 2``) reuse half the dots: same values, same gradient."""
    from contrastkit.functional.tiled import _aligned_dots

    x = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    rows = torch.arange(8)
    cols = (rows + 4) % 8
    got = _aligned_dots(rows, cols, 8, x, x)
    want = (x * x[cols]).sum(1)
    torch.testing.assert_close(got, want)
    g = torch.arange(8, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(got, x, g)[0], torch.autograd.grad(want, x, g)[0])
    # any other pattern is left to the general path
    assert _aligned_dots(rows, torch.tensor([1, 0, 3, 2, 5, 4, 7, 6]), 8, x, x) is None


@pytest.mark.parametrize("k", [0, 3, 8, 13])
@pytest.mark.parametrize("dcl", [False, True])
@pytest.mark.parametrize("cache_mb", [0, 64])
def test_in_kernel_aligned_positives_match_dense(k: int, dcl: bool, cache_mb: float) -> None:
    """Anchor ``i``'s only positive is candidate ``(i + k) mod C``: the kernel reads the positive
    logits off its tiles' diagonals (wrapping at ``C``, across tile edges) and adds their gradient
    there. Against a dense float64 loss over the full logit matrix, values and gradients."""
    from contrastkit.functional.positives import Positives
    from contrastkit.functional.problem import Direction
    from contrastkit.functional.similarity import Cosine
    from contrastkit.functional.tiled import aligned_offset, tiled_direction_rows

    n, tau = 21, 0.3
    g = torch.Generator().manual_seed(k + 7 * dcl)
    a = torch.randn(n, D, generator=g, dtype=torch.float64, requires_grad=True)
    c = torch.randn(n, D, generator=g, dtype=torch.float64, requires_grad=True)
    ids = torch.arange(n)
    positives = Positives(anchor_ids=ids, candidate_ids=(ids - k) % n)  # j = (i + k) mod n
    assert aligned_offset(positives, n) == k
    direction = Direction(anchors=a, candidates=c, positives=positives, sample=ids, shared=False)
    rows, _ = tiled_direction_rows(direction, tau, similarity=Cosine(), tile_size=TILE,
                                   positives_in_denominator=not dcl, tile_cache_mb=cache_mb)
    logits = F.normalize(a, dim=1) @ F.normalize(c, dim=1).T / tau
    pos = (ids + k) % n
    keep = torch.ones(n, n, dtype=torch.bool)
    if dcl:
        keep[ids, pos] = False
    want = torch.logsumexp(logits.masked_fill(~keep, float("-inf")), 1) - logits[ids, pos]
    torch.testing.assert_close(rows, want, rtol=1e-12, atol=1e-12)
    w = torch.rand(n, generator=g, dtype=torch.float64)
    for got_g, want_g in zip(torch.autograd.grad((rows * w).sum(), (a, c)),
                             torch.autograd.grad((want * w).sum(), (a, c)), strict=True):
        torch.testing.assert_close(got_g, want_g, rtol=1e-10, atol=1e-12)
