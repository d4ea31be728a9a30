"""Dense-path economies: per-class positive sums (SupCon), in-place buffers, same values.

The per-class path forms SupCon's positive term from ``(B, d)`` class sums instead of gathering
every positive pair of the logit matrix; the dense Functions reuse the similarity GEMM's output
and write their gradient into the saved buffer when the graph is not retained. The reference is a
naive float64 loop over anchors (independent of every kernel); gradients come from autograd on it.
"""

from __future__ import annotations

import pytest
import torch

import contrastkit.losses.infonce as infonce
from contrastkit.functional.problem import build_problem
from contrastkit.losses import InfoNCE

N, D = 20, 5


def _naive_supcon(z1: torch.Tensor, z2: torch.Tensor | None, labels: torch.Tensor, tau: float) -> torch.Tensor:
    z = torch.nn.functional.normalize(z1 if z2 is None else torch.cat([z1, z2]), dim=1)
    ids = labels if z2 is None else torch.cat([labels, labels])
    rows = []
    for i in range(z.shape[0]):
        others = [j for j in range(z.shape[0]) if j != i]
        pos = [j for j in others if ids[j] == ids[i]]
        lse = torch.logsumexp(torch.stack([z[i] @ z[j] / tau for j in others]), 0)
        rows.append(lse - torch.stack([z[i] @ z[j] / tau for j in pos]).mean())
    return torch.stack(rows).mean()


@pytest.fixture
def class_sum_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = infonce.InfoNCE._class_sum_rows

    def spy(self, direction, tau):  # type: ignore[no-untyped-def]
        out = original(self, direction, tau)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(infonce.InfoNCE, "_class_sum_rows", spy)
    return calls


@pytest.mark.parametrize("views", [1, 2])
def test_class_sums_equal_naive_supcon(views: int, class_sum_calls: list[int]) -> None:
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True) if views == 2 else None
    labels = torch.arange(N) % 2  # ~10-20 positives per anchor: the per-class path
    args = (z1,) if z2 is None else (z1, z2)
    got = InfoNCE(0.2, tile_size=None)(*args, labels=labels)
    assert class_sum_calls == [True]
    want = _naive_supcon(z1, z2, labels, 0.2)
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    for a, b in zip(torch.autograd.grad(got, args), torch.autograd.grad(want, args), strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-13)


def test_few_positives_keep_the_pair_path(class_sum_calls: list[int]) -> None:
    z = torch.randn(N, D, dtype=torch.float64)
    InfoNCE(0.2, tile_size=None)(z, labels=torch.arange(N) % 10)  # one positive each
    assert class_sum_calls == [False]


CASES = {
    "ntxent": (dict(), lambda a, b: ((a, b), {})),
    "supcon_class_sums": (dict(), lambda a, b: ((a, b), {"labels": torch.arange(N) % 2})),
    "clip_paired": (dict(mode="symmetric"), lambda a, b: ((a, b), {})),
    "clip_labels": (dict(mode="symmetric"), lambda a, b: ((a, b), {"labels": torch.arange(N) % 4})),
    "soft_weights": (dict(), lambda a, b: ((a, b), {"weights": torch.eye(N, dtype=a.dtype) + 0.1})),
    "clip_weights": (dict(mode="symmetric"), lambda a, b: ((a, b), {"denominator_weights":
                                                                  torch.ones(N, N, dtype=a.dtype) * 0.5})),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_retained_graph_gives_the_same_gradient_twice(case: str) -> None:
    # Backward writes into its saved buffer only when the graph is not retained.
    options, call = CASES[case]
    g = torch.Generator().manual_seed(1)
    a = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
    args, kwargs = call(a, b)
    value = InfoNCE(0.2, tile_size=None, **options)(*args, **kwargs)
    first = torch.autograd.grad(value, [a, b], retain_graph=True)
    second = torch.autograd.grad(value, [a, b])
    for x, y in zip(first, second, strict=True):
        assert torch.equal(x, y)
    fresh = InfoNCE(0.2, tile_size=None, **options)(*args, **kwargs)
    for x, y in zip(torch.autograd.grad(fresh, [a, b]), first, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("case", ["supcon_class_sums", "clip_paired", "clip_labels"])
def test_gradcheck(case: str) -> None:
    options, call = CASES[case]
    g = torch.Generator().manual_seed(2)
    a = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    global N
    old, N = N, 8
    try:
        args, kwargs = call(a, b)
    finally:
        N = old
    loss = InfoNCE(0.3, tile_size=None, **options)
    assert torch.autograd.gradcheck(lambda x, y: loss(x, y, **kwargs), args)


def test_given_logits_are_not_overwritten() -> None:
    a, b = torch.randn(N, D), torch.randn(N, D)
    loss = InfoNCE(0.2, mode="a_to_b", tile_size=None)
    direction = build_problem(a, b, mode="a_to_b").directions[0]
    logits = loss.logits(direction, 0.2)
    before = logits.clone()
    loss.direction_rows(direction, 0.2, logits=logits)
    assert torch.equal(logits, before)
