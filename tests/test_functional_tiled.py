"""Tiled InfoNCE family == dense path (values and gradients), memory contract, edge cases."""

from __future__ import annotations

import pytest
import torch

from contrastkit.functional import tiled as tiled_module
from contrastkit.functional.positives import Positives
from contrastkit.functional.tiled import TiledLogSumExp, build_layout, positive_pairs
from contrastkit.losses import DCL, DCLW, InfoNCE
from contrastkit.losses.infonce import HardNegativeInfoNCE

N, D, TILE = 19, 6, 8  # 2N = 38 rows: not a multiple of the tile
TOL = {torch.float64: 1e-8, torch.float32: 1e-5}


def _inputs(dtype: torch.dtype, seed: int = 0, scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.randn(N, D, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()
    b = (torch.randn(N, D, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()
    labels = torch.randint(0, 4, (N,), generator=g)
    negatives = torch.randn(7, D, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    sparse_w = torch.rand(N, N, generator=g, dtype=torch.float64) * (torch.rand(N, N, generator=g) < 0.3)
    sparse_w = (sparse_w + torch.eye(N, dtype=torch.float64)).to(dtype)
    return a, b, labels, negatives, sparse_w


CASES = {
    "two_view": dict(mode="two_view", call=lambda a, b, y, n, w: ((a, b), {})),
    "two_view_labels": dict(mode="two_view", call=lambda a, b, y, n, w: ((a, b), {"labels": y})),
    "supcon_single_view": dict(mode="two_view", call=lambda a, b, y, n, w: ((a,), {"labels": y})),
    "supcon_negatives": dict(mode="two_view",
                             call=lambda a, b, y, n, w: ((a,), {"labels": y, "negatives": n})),
    "two_view_negatives": dict(mode="two_view", call=lambda a, b, y, n, w: ((a, b), {"negatives": n})),
    "clip": dict(mode="symmetric", call=lambda a, b, y, n, w: ((a, b), {})),
    "clip_labels": dict(mode="symmetric", call=lambda a, b, y, n, w: ((a, b), {"labels": y})),
    "clip_negatives": dict(mode="symmetric", call=lambda a, b, y, n, w: ((a, b), {"negatives": n})),
    "a_to_b_negatives": dict(mode="a_to_b", call=lambda a, b, y, n, w: ((a, b), {"negatives": n})),
    "dot": dict(mode="two_view", similarity="dot", call=lambda a, b, y, n, w: ((a, b), {})),
    "clip_dot": dict(mode="symmetric", similarity="dot", call=lambda a, b, y, n, w: ((a, b), {})),
    "soft_dense": dict(mode="two_view", call=lambda a, b, y, n, w: ((a, b), {"weights": w})),
    "soft_clip": dict(mode="symmetric", call=lambda a, b, y, n, w: ((a, b), {"weights": w})),
    "soft_callable": dict(mode="a_to_b",
                          call=lambda a, b, y, n, w: ((a, b), {"weights": lambda r, c: w[r, c]})),
}


def _run(cls, case, dtype, tile, temperature=0.2, scale=1.0):
    spec = CASES[case]
    a, b, y, n, w = _inputs(dtype, scale=scale)
    args, kwargs = spec["call"](a, b, y, n, w)
    loss = cls(temperature, mode=spec["mode"], similarity=spec.get("similarity", "cosine"),
               tile_size=tile)
    value = loss(*args, **kwargs)
    leaves = [t for t in (a, b, n) if any(t is x for x in args) or any(t is v for v in kwargs.values())]
    grads = torch.autograd.grad(value, leaves)
    return value, grads


def _close(x: torch.Tensor, y: torch.Tensor, rtol: float) -> None:
    scale = y.abs().max().clamp_min(1.0)
    assert (x - y).abs().max() <= rtol * scale, float((x - y).abs().max() / scale)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("cls", [InfoNCE, DCL, DCLW])
@pytest.mark.parametrize("case", sorted(CASES))
def test_tiled_matches_dense(cls, case, dtype):
    dense_v, dense_g = _run(cls, case, dtype, None)
    tiled_v, tiled_g = _run(cls, case, dtype, TILE)
    assert tiled_v.dtype == dense_v.dtype
    _close(tiled_v, dense_v, TOL[dtype])
    for tg, dg in zip(tiled_g, dense_g, strict=True):
        _close(tg, dg, TOL[dtype])


@pytest.mark.parametrize("tile", [1, 5, 38, 1000])
def test_tile_sizes(tile, monkeypatch):
    monkeypatch.setattr(tiled_module, "_online_update", None)  # the fast path must suffice here
    dense_v, dense_g = _run(InfoNCE, "clip_negatives", torch.float64, None)
    tiled_v, tiled_g = _run(InfoNCE, "clip_negatives", torch.float64, tile)
    _close(tiled_v, dense_v, 1e-10)
    for tg, dg in zip(tiled_g, dense_g, strict=True):
        _close(tg, dg, 1e-10)


@pytest.mark.parametrize("case", ["two_view", "clip", "two_view_labels"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_wide_logit_range_uses_exact_online_fallback(case, dtype, monkeypatch):
    calls = []
    original = tiled_module._online_update
    monkeypatch.setattr(tiled_module, "_online_update", lambda *a: calls.append(1) or original(*a))
    # float32, tau=0.002: logits in [-500, 500], far beyond the shared-shift window of 40;
    # float64 needs a dot product with big norms to exceed its window of 600.
    if dtype == torch.float32:
        kwargs = dict(temperature=0.002)
        dense = _run(InfoNCE, case, dtype, None, **kwargs)
        tiled = _run(InfoNCE, case, dtype, TILE, **kwargs)
    else:
        spec = dict(CASES[case])
        CASES["_big"] = dict(spec, similarity="dot")
        try:
            dense = _run(InfoNCE, "_big", dtype, None, temperature=0.1, scale=12.0)
            tiled = _run(InfoNCE, "_big", dtype, TILE, temperature=0.1, scale=12.0)
        finally:
            del CASES["_big"]
    assert calls, "the online fallback was not exercised"
    _close(tiled[0], dense[0], TOL[dtype])
    for tg, dg in zip(tiled[1], dense[1], strict=True):
        _close(tg, dg, TOL[dtype])


@pytest.mark.parametrize("mode", ["two_view", "symmetric", "a_to_b"])
def test_learnable_temperature_gradient(mode):
    a, b, *_ = _inputs(torch.float64)
    grads = []
    for tile in (None, TILE):
        tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        value = DCLW(mode=mode, tile_size=tile)(a, b, temperature=tau)
        grads.append(torch.autograd.grad(value, (a, b, tau)))
    for tg, dg in zip(grads[1], grads[0], strict=True):
        _close(tg, dg, 1e-8)
    assert grads[1][2].abs() > 0


def test_against_naive_loop():
    # An independent reference: SimCLR NT-Xent written as a per-anchor Python loop.
    a, b, *_ = _inputs(torch.float64)
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1)
    total = 0.0
    for i in range(2 * N):
        others = [j for j in range(2 * N) if j != i]
        logits = torch.stack([z[i] @ z[j] for j in others]) / 0.2
        total = total + torch.logsumexp(logits, 0) - z[i] @ z[(i + N) % (2 * N)] / 0.2
    naive = total / (2 * N)
    _close(InfoNCE(0.2, tile_size=TILE)(a, b), naive, 1e-10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["two_view", "symmetric"])
def test_half_precision(dtype, mode):
    a, b, *_ = _inputs(torch.float32)
    ref = InfoNCE(0.1, mode=mode)(a, b)
    ah, bh = a.detach().to(dtype).requires_grad_(), b.detach().to(dtype).requires_grad_()
    value = InfoNCE(0.1, mode=mode, tile_size=TILE)(ah, bh)
    value.backward()
    assert value.dtype == torch.float32
    assert torch.isfinite(value) and torch.isfinite(ah.grad).all() and torch.isfinite(bh.grad).all()
    assert ah.grad.dtype == dtype
    assert abs(float(value.detach()) - float(ref.detach())) < 5e-2


def test_no_positive_ignore_and_error():
    a, b, _, _, _ = _inputs(torch.float64)
    labels = torch.arange(N)  # single view: every anchor is alone in its class
    labels[:4] = 0
    for tile in (None, TILE):
        with pytest.raises(ValueError, match="labels"):
            InfoNCE(tile_size=tile)(a, labels=labels)
    dense = InfoNCE(no_positive="ignore")(a, labels=labels)
    tiled = InfoNCE(no_positive="ignore", tile_size=TILE)(a, labels=labels)
    _close(tiled, dense, 1e-10)
    ga, = torch.autograd.grad(tiled, a)
    assert torch.isfinite(ga).all()


def test_empty_denominator_raises_like_dense():
    a = torch.randn(3, D, dtype=torch.float64)
    labels = torch.zeros(3, dtype=torch.long)
    for tile in (None, 2):
        with pytest.raises(ValueError, match="denominator"):
            DCL(tile_size=tile)(a, labels=labels)


@pytest.mark.parametrize("mode", ["two_view", "symmetric", "a_to_b"])
def test_saved_tensors_are_never_quadratic(mode):
    n, d, tile = 64, 4, 16
    rows = 2 * n if mode == "two_view" else n
    a = torch.randn(n, d, requires_grad=True)
    b = torch.randn(n, d, requires_grad=True)
    shapes: list[tuple[int, ...]] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        value = InfoNCE(0.1, mode=mode, tile_size=tile)(a, b, labels=torch.arange(n) % 5)
    value.backward()
    assert shapes
    biggest = max(torch.Size(s).numel() for s in shapes)
    assert biggest <= 2 * rows * d, shapes  # O(B·d); a (B, B) matrix would be 16x larger
    # The custom function itself saves only the inputs and O(B) row statistics.
    node = value.grad_fn
    seen, stack, tiled_nodes = set(), [node], []
    while stack:
        cur = stack.pop()
        if cur is None or cur in seen:
            continue
        seen.add(cur)
        if type(cur).__name__ == "TiledLogSumExpBackward":
            tiled_nodes.append(cur)
        stack.extend(f for f, _ in cur.next_functions)
    assert tiled_nodes


def test_saved_tensors_of_function():
    x = torch.randn(40, 3, requires_grad=True)
    pos = Positives.views(20)
    lse, *_ = TiledLogSumExp.apply(build_layout(pos, False), 8, 0, 0, None, x, None)
    saved = lse.grad_fn.saved_tensors
    assert [tuple(t.shape) for t in saved if t is not None] == [(40, 3), (40,), (0,)]


def test_positive_pairs_match_dense_mask():
    labels = torch.tensor([3, 1, 3, 3, 0, 1])
    pos = Positives.from_labels(labels.repeat(2), labels.repeat(2), torch.arange(12))
    rows, cols = positive_pairs(pos, None)
    weight, _ = pos.dense()
    dense = {(int(i), int(j)) for i, j in weight.nonzero()}
    assert {(int(i), int(j)) for i, j in zip(rows, cols, strict=True)} == dense
    assert positive_pairs(pos, 3) is None


def test_argument_errors():
    with pytest.raises(ValueError, match="tile_size"):
        InfoNCE(tile_size=0)
    with pytest.raises(ValueError, match="tile_size"):
        InfoNCE(tile_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tile_size"):
        HardNegativeInfoNCE(top_k=2, tile_size=8)
    with pytest.raises(ValueError, match="similarity"):
        InfoNCE(similarity="neg_sq_euclidean", tile_size=8)(torch.randn(4, 3), torch.randn(4, 3))
    assert InfoNCE(tile_size=64).config()["tile_size"] == 64
    rebuilt = InfoNCE(**InfoNCE(tile_size=64).config())
    assert rebuilt.tile_size == 64


def test_subclass_with_dense_only_hook_refuses_tiling():
    class Masked(InfoNCE):
        def denominator_mask(self, logits, weight, valid):
            return valid

    a, b = torch.randn(4, 3), torch.randn(4, 3)
    Masked()(a, b)
    with pytest.raises(ValueError, match="tile_size"):
        Masked(tile_size=2)(a, b)
