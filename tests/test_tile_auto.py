"""``tile_size="auto"``: dense below the crossover, tiled above, same values and gradients as both.

The reference for the values is a naive per-anchor loop in float64 (independent of both kernels);
dense and explicitly tiled runs are compared as well. The thresholds are lowered with
``monkeypatch`` so that the tiled branch is reached with small inputs; which kernel ran is recorded
by wrapping the tiled entry points.
"""

from __future__ import annotations

import pytest
import torch

import contrastkit.functional.tiled as tiled
import contrastkit.losses.infonce as infonce
from contrastkit.functional.problem import build_problem
from contrastkit.losses import DCL, HardNegativeInfoNCE, InfoNCE

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]


def _naive_ntxent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    losses = []
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        terms = [z[i] @ z[j] / tau for j in range(2 * n) if j != i]
        losses.append(torch.logsumexp(torch.stack(terms), 0) - z[i] @ z[pos] / tau)
    return torch.stack(losses).mean()


def _naive_clip(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    logits = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T / tau
    n = a.shape[0]
    rows = [torch.logsumexp(logits[i], 0) - logits[i, i] for i in range(n)]
    cols = [torch.logsumexp(logits[:, j], 0) - logits[j, j] for j in range(n)]
    return (torch.stack(rows).mean() + torch.stack(cols).mean()) / 2


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the tile of every tiled-kernel call made through :class:`InfoNCE`."""
    calls: list[int] = []
    for name in ("tiled_direction_rows", "tiled_symmetric_rows"):
        original = getattr(infonce, name)

        def wrapped(*args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(kwargs["tile_size"])
            return _original(*args, **kwargs)

        monkeypatch.setattr(infonce, name, wrapped)
    return calls


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two views of 6 rows: a 12 x 12 shared matrix (144 entries); CLIP with 6 pairs: 36 entries.
    monkeypatch.setattr(tiled, "AUTO_MIN_ENTRIES_SHARED", 100)
    monkeypatch.setattr(tiled, "AUTO_MIN_ENTRIES", 30)
    monkeypatch.setattr(tiled, "AUTO_TILE_SIZE", 4)


def test_auto_is_the_default() -> None:
    assert InfoNCE().tile_size == "auto"
    assert InfoNCE(**InfoNCE().config()).tile_size == "auto"
    with pytest.raises(ValueError, match="tile_size: expected None, 'auto' or an integer"):
        InfoNCE(tile_size="fast")


def test_real_thresholds_pick_dense_below_and_tiled_above() -> None:
    loss = InfoNCE()
    d = 4
    # NT-Xent: 2N anchors against 2N shared candidates.
    small = build_problem(torch.randn(511, d), torch.randn(511, d), mode="two_view")
    large = build_problem(torch.randn(512, d), torch.randn(512, d), mode="two_view")
    assert 1022**2 < tiled.AUTO_MIN_ENTRIES_SHARED <= 1024**2
    assert loss.resolve_tile_size(small) is None
    assert loss.resolve_tile_size(large) == tiled.AUTO_TILE_SIZE
    clip = InfoNCE(mode="symmetric")
    n = int(tiled.AUTO_MIN_ENTRIES**0.5)
    assert clip.resolve_tile_size(build_problem(torch.randn(n - 1, d), torch.randn(n - 1, d),
                                                mode="symmetric")) is None
    assert clip.resolve_tile_size(build_problem(torch.randn(n, d), torch.randn(n, d),
                                                mode="symmetric")) == tiled.AUTO_TILE_SIZE


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", ["ntxent", "clip", "supcon", "dcl"])
def test_auto_equals_dense_and_tiled(case: str, device: str, spy: list[int], small_thresholds: None) -> None:
    torch.manual_seed(0)
    kwargs, make = {
        "ntxent": ({}, InfoNCE),
        "clip": ({"mode": "symmetric"}, InfoNCE),
        "supcon": ({}, InfoNCE),
        "dcl": ({}, DCL),
    }[case]
    labels = torch.tensor([0, 1, 0, 2, 1, 0]) if case == "supcon" else None

    def run(n: int, tile_size: int | str | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        torch.manual_seed(n)
        a = torch.randn(n, 5, dtype=torch.float64, device=device, requires_grad=True)
        b = torch.randn(n, 5, dtype=torch.float64, device=device, requires_grad=True)
        extra = {} if labels is None else {"labels": labels[:n].to(device)}
        value = make(0.3, tile_size=tile_size, **kwargs)(a, b, **extra)
        value.backward()
        assert a.grad is not None and b.grad is not None
        return value.detach(), a.grad, b.grad

    for n, expect_tiled in ((4, False), (6, True)):  # 64 / 16 entries below, 144 / 36 above
        spy.clear()
        auto = run(n, "auto")
        assert spy == ([4] if expect_tiled else []), (n, spy)
        for other in (run(n, None), run(n, 4)):
            for x, y in zip(auto, other, strict=True):
                torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)
    if case in ("ntxent", "clip"):  # an independent reference for the auto value above the crossover
        torch.manual_seed(6)
        a = torch.randn(6, 5, dtype=torch.float64, device=device)
        b = torch.randn(6, 5, dtype=torch.float64, device=device)
        naive = (_naive_ntxent if case == "ntxent" else _naive_clip)(a, b, 0.3)
        torch.testing.assert_close(auto[0], naive, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_auto_keeps_dense_for_variants_without_tiles(device: str, spy: list[int], small_thresholds: None) -> None:
    a, b = torch.randn(8, 5, device=device), torch.randn(8, 5, device=device)
    hard = HardNegativeInfoNCE(top_k=3)
    assert hard.tile_size == "auto"
    torch.testing.assert_close(hard(a, b), HardNegativeInfoNCE(top_k=3, tile_size=None)(a, b))
    euclid = InfoNCE(similarity="neg_sq_euclidean")
    torch.testing.assert_close(euclid(a, b), InfoNCE(similarity="neg_sq_euclidean", tile_size=None)(a, b))

    class Masked(InfoNCE):
        def denominator_mask(self, logits, weight, valid):  # type: ignore[no-untyped-def]
            return valid

    Masked()(a, b)
    assert spy == []
    InfoNCE()(a, b)  # the plain loss at the same size does tile
    assert spy == [4]
