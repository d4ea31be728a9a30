"""Tile cache (``tile_cache_mb``): cached, recomputed and dense runs agree; the budget is kept.

The cache changes only where backward's ``exp(l - lse)`` comes from (a tile kept from forward
instead of a recomputed GEMM), so values and gradients must equal the recompute path and the
dense path to float64 rounding, in every tiled configuration. Which tiles were served from the
cache is recorded by wrapping the cached backward tile.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.functional import tiled as tiled_module
from contrastkit.losses import DCL, DCLW, InfoNCE

N, D, TILE = 19, 6, 8  # two views: 38 rows, tiles of 8 (not a multiple)


def _inputs(dtype: torch.dtype, scale: float = 1.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    a = (torch.randn(N, D, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()
    b = (torch.randn(N, D, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()
    labels = torch.randint(0, 4, (N,), generator=g)
    negatives = torch.randn(7, D, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    weights = torch.rand(N, N, generator=g, dtype=torch.float64) * (torch.rand(N, N, generator=g) < 0.3)
    weights = (weights + torch.eye(N, dtype=torch.float64)).to(dtype)
    return dict(a=a, b=b, labels=labels, negatives=negatives, weights=weights)


# name: (loss class, constructor options, call(inputs) -> (args, kwargs))
CASES = {
    "ntxent": (InfoNCE, {}, lambda t: ((t["a"], t["b"]), {})),
    "supcon": (InfoNCE, {}, lambda t: ((t["a"], t["b"]), {"labels": t["labels"]})),
    "supcon_single_view": (InfoNCE, {}, lambda t: ((t["a"],), {"labels": t["labels"]})),
    "clip": (InfoNCE, {"mode": "symmetric"}, lambda t: ((t["a"], t["b"]), {})),
    "clip_negatives": (InfoNCE, {"mode": "symmetric"}, lambda t: ((t["a"], t["b"]), {"negatives": t["negatives"]})),
    "clip_duplicates": (InfoNCE, {"mode": "symmetric", "duplicates": "exclude"},
                        lambda t: ((t["a"], t["b"]), {"labels": t["labels"]})),
    "a_to_b_candidates": (InfoNCE, {"mode": "a_to_b"},
                          lambda t: ((t["a"], t["b"]), {"candidates": torch.stack([t["b"].roll(1, 0)], 1)})),
    "denominator_weights": (InfoNCE, {"mode": "a_to_b"}, lambda t: (
        (t["a"], t["b"]), {"denominator_weights": torch.linspace(0.5, 1.5, N * N, dtype=t["a"].dtype).view(N, N)})),
    "soft_weights": (InfoNCE, {}, lambda t: ((t["a"], t["b"]), {"weights": t["weights"]})),
    "dcl": (DCL, {}, lambda t: ((t["a"], t["b"]), {"labels": t["labels"]})),
    "dclw_clip": (DCLW, {"mode": "symmetric"}, lambda t: ((t["a"], t["b"]), {})),
}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Shapes of the tiles backward took from the cache."""
    shapes: list[tuple[int, int]] = []
    original = tiled_module._take_kept

    def wrapped(cache, key):  # type: ignore[no-untyped-def]
        kept = original(cache, key)
        if kept is not None:
            shapes.append(tuple(kept[0].shape))
        return kept

    monkeypatch.setattr(tiled_module, "_take_kept", wrapped)
    return shapes


def _run(case: str, dtype: torch.dtype, tile: int | None, cache_mb: float, temperature: float = 0.2,
         scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    cls, options, call = CASES[case]
    inputs = _inputs(dtype, scale)
    args, kwargs = call(inputs)
    value = cls(temperature, tile_size=tile, tile_cache_mb=cache_mb, **options)(*args, **kwargs)
    leaves = [t for t in (inputs["a"], inputs["b"], inputs["negatives"])
              if any(t is x for x in args) or any(t is v for v in kwargs.values())]
    return (value.detach(), *torch.autograd.grad(value, leaves))


def _close(got: tuple[torch.Tensor, ...], want: tuple[torch.Tensor, ...], tol: float) -> None:
    for x, y in zip(got, want, strict=True):
        scale = y.abs().max().clamp_min(1.0)
        assert float((x - y).abs().max() / scale) <= tol


@pytest.mark.parametrize("case", sorted(CASES))
def test_cached_equals_recomputed_and_dense(case: str, served: list[tuple[int, int]]) -> None:
    dense = _run(case, torch.float64, None, 0)
    recomputed = _run(case, torch.float64, TILE, 0)
    assert not served  # budget 0: every tile recomputed
    cached = _run(case, torch.float64, TILE, 64)
    assert served, "no tile came from the cache"
    _close(cached, dense, 1e-12)
    _close(cached, recomputed, 1e-12)


@pytest.mark.parametrize("case", ["ntxent", "clip", "supcon"])
def test_float32_wide_range_matches_float64(case: str) -> None:
    # tau = 0.02 with norms 3 (dot would exceed the window; cosine stays within it): logits up to
    # 50, so exp(l - lse) spans many orders of magnitude within one tile.
    want = _run(case, torch.float64, None, 0, temperature=0.02)
    for cache_mb in (0, 64):
        got = _run(case, torch.float32, TILE, cache_mb, temperature=0.02)
        _close(tuple(t.double() for t in got), want, 1e-5)


def test_wide_range_fallback_tiles_are_recomputed(served: list[tuple[int, int]]) -> None:
    # tau = 0.002: logits in [-500, 500], beyond the shared-shift window; such tiles take the exact
    # online update in forward, hold no exp(l - c) to keep, and must be recomputed in backward.
    want = _run("clip", torch.float64, None, 0, temperature=0.002)
    got = _run("clip", torch.float32, TILE, 64, temperature=0.002)
    n_tiles = (-(-N // TILE)) ** 2
    assert len(served) < n_tiles
    _close(tuple(t.double() for t in got), want, 1e-4)


def test_budget_is_kept(served: list[tuple[int, int]]) -> None:
    # Two views of 19: 38 rows, tiles of 8 -> 5 x 5 blocks, 15 in the upper triangle. A budget of
    # three full float64 tiles plus what the budget counts beside them (the kernel's tile-sized
    # scratch and backward's (38, 6) gradient accumulator) keeps exactly three; the rest is
    # recomputed with the same result.
    scratch = (tiled_module.SCRATCH_TILES * TILE * TILE + 2 * N * D) * 8
    budget = (3 * TILE * TILE * 8 + scratch) / 2**20
    got = _run("ntxent", torch.float64, TILE, budget)
    kept = sum(r * c * 8 for r, c in served)
    assert len(served) == 3 and kept + scratch <= budget * 2**20
    served.clear()  # the scratch alone uses up a budget of its own size: nothing is kept
    _run("ntxent", torch.float64, TILE, scratch / 2**20)
    assert not served
    _close(got, _run("ntxent", torch.float64, None, 0), 1e-12)


def test_no_cache_without_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    original = tiled_module.TiledLogSumExp.forward

    def spy(ctx, layout, tile, n_col, cache_bytes, store, x, y):  # type: ignore[no-untyped-def]
        sizes.append(cache_bytes)
        return original(ctx, layout, tile, n_col, cache_bytes, store, x, y)

    monkeypatch.setattr(tiled_module.TiledLogSumExp, "forward", staticmethod(spy))
    a, b = torch.randn(N, D), torch.randn(N, D)
    InfoNCE(tile_size=TILE)(a, b)  # nothing requires grad
    with torch.no_grad():
        InfoNCE(tile_size=TILE)(a.requires_grad_(), b)
    InfoNCE(tile_size=TILE)(a, b)
    assert sizes == [0, 0, int(tiled_module.DEFAULT_TILE_CACHE_MB * 2**20)]


def test_second_backward_recomputes() -> None:
    inputs = _inputs(torch.float64)
    value = InfoNCE(0.2, mode="symmetric", tile_size=TILE)(inputs["a"], inputs["b"])
    first = torch.autograd.grad(value, [inputs["a"]], retain_graph=True)[0]
    second = torch.autograd.grad(value, [inputs["a"]])[0]  # the cache was used up by the first
    assert torch.allclose(first, second, rtol=1e-12, atol=1e-15)


def test_default_and_validation() -> None:
    assert InfoNCE().tile_cache_mb == tiled_module.DEFAULT_TILE_CACHE_MB
    assert InfoNCE(**InfoNCE(tile_cache_mb=0).config()).tile_cache_mb == 0
    for bad in (-1, float("nan"), "big", True):
        with pytest.raises(ValueError, match="tile_cache_mb"):
            InfoNCE(tile_cache_mb=bad)


def test_module_reuses_its_storage_and_never_shares_it() -> None:
    loss = InfoNCE(0.2, mode="symmetric", tile_size=TILE)
    inputs = _inputs(torch.float64)
    first = loss(inputs["a"], inputs["b"])
    held = loss._tile_cache._storage
    # The whole 19 x 19 matrix fits, next to the kernel's scratch tiles.
    assert held is not None and loss._tile_cache.nbytes == (N * N + tiled_module.SCRATCH_TILES * TILE * TILE) * 8
    # A second forward before the first backward must not reuse the lent storage.
    second = loss(inputs["a"] * 2, inputs["b"])
    assert loss._tile_cache._storage is held
    g1 = torch.autograd.grad(first, [inputs["a"]])[0]
    g2 = torch.autograd.grad(second, [inputs["a"]])[0]
    fresh = InfoNCE(0.2, mode="symmetric", tile_size=TILE, tile_cache_mb=0)
    _close((g1, g2), (torch.autograd.grad(fresh(inputs["a"], inputs["b"]), [inputs["a"]])[0],
                      torch.autograd.grad(fresh(inputs["a"] * 2, inputs["b"]), [inputs["a"]])[0]), 1e-12)
    # After backward (or when a graph is dropped unused) the storage is lent again.
    loss(inputs["a"], inputs["b"])  # graph dropped without backward
    third = loss(inputs["a"], inputs["b"])
    assert loss._tile_cache._owner is not None
    third.backward()
    assert loss._tile_cache._owner is None and loss._tile_cache._storage is held


def test_pickle_and_deepcopy_carry_no_scratch_storage() -> None:
    """The cache is scratch, not state: a loss module pickles (``torch.save(model)``, spawn) after a
    forward whose backward never ran, and copies (EMA / momentum copies) share and hold no pages."""
    import copy
    import io
    import pickle

    loss = InfoNCE(tile_size=TILE)
    t = _inputs(torch.float64)
    loss(t["a"], t["b"]).backward()
    assert loss._tile_cache.nbytes > 0
    copied = copy.deepcopy(loss)
    assert copied._tile_cache.nbytes == 0 and copied._tile_cache is not loss._tile_cache
    pending = loss(t["a"], t["b"])  # a forward whose backward has not run (the cache is lent)
    restored = pickle.loads(pickle.dumps(loss))
    buffer = io.BytesIO()
    torch.save(loss, buffer)
    assert buffer.tell() < 20_000  # no cached tiles in the file
    assert restored._tile_cache.nbytes == 0
    torch.testing.assert_close(restored(t["a"], t["b"]), pending, rtol=0, atol=1e-12)
    del pending
    pickle.dumps(loss)


@pytest.mark.parametrize("bad", [-1, float("inf"), "big", None, True])
def test_budget_set_after_construction_is_checked(bad: object) -> None:
    """``loss.tile_cache_mb = ...`` between steps: the same clear error as the constructor's."""
    loss = InfoNCE(tile_size=TILE)
    loss.tile_cache_mb = bad  # type: ignore[assignment]
    t = _inputs(torch.float64)
    with pytest.raises(ValueError, match="tile_cache_mb"):
        loss(t["a"], t["b"])
