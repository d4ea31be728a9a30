"""Every InfoNCE-family / SigLIP execution path on CUDA tensors, against the same call on CPU.

Skipped without a GPU (none on the development machine: these have not run yet). The reference is
the CPU result in float64, itself tested against naive loops elsewhere; values and input gradients
must agree to float64 rounding, and the result must live on the inputs' device.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from contrastkit.losses import DCL, DCLW, HardNegativeInfoNCE, InfoNCE, SigLIP

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")

N, D = 12, 6
LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 3, 3, 0, 1, 4, 4])


def _cases() -> dict[str, Callable[[torch.Tensor, torch.Tensor, str], torch.Tensor]]:
    def kw(device: str) -> dict[str, torch.Tensor]:
        return {"labels": LABELS.to(device)}

    cases: dict[str, Callable[[torch.Tensor, torch.Tensor, str], torch.Tensor]] = {}
    for tile in (None, 5, "auto"):
        cases[f"ntxent-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, tile_size=t)(a, b)
        cases[f"supcon-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, tile_size=t)(a, **kw(dev))
        cases[f"clip-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, mode="symmetric", tile_size=t)(a, b)
        cases[f"a_to_b-neg-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, mode="a_to_b", tile_size=t)(
            a, b, negatives=(a[:4] + b[:4]).flip(0))
        cases[f"dcl-{tile}"] = lambda a, b, dev, t=tile: DCL(0.2, tile_size=t)(a, b)
        cases[f"dclw-{tile}"] = lambda a, b, dev, t=tile: DCLW(0.2, tile_size=t)(a, b)
        cases[f"duplicates-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, mode="symmetric", duplicates="exclude",
                                                                      tile_size=t)(a, b, **kw(dev))
        cases[f"denominator-weights-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, mode="a_to_b", tile_size=t)(
            a, b, denominator_weights=torch.linspace(0.5, 1.5, N * N, dtype=a.dtype, device=dev).view(N, N))
        cases[f"candidates-{tile}"] = lambda a, b, dev, t=tile: InfoNCE(0.2, mode="a_to_b", tile_size=t)(
            a, b, candidates=torch.stack([b.roll(1, 0), b.roll(2, 0)], 1))
        cases[f"siglip-{tile}"] = lambda a, b, dev, t=tile: SigLIP(scale=10.0, bias=-10.0,
                                                                 tile_size=None if t == "auto" else t)(a, b)
    # Tiled with the tile cache off (every tile recomputed in backward; the cases above keep them).
    cases["ntxent-5-recompute"] = lambda a, b, dev: InfoNCE(0.2, tile_size=5, tile_cache_mb=0)(a, b)
    cases["clip-5-recompute"] = lambda a, b, dev: InfoNCE(0.2, mode="symmetric", tile_size=5, tile_cache_mb=0)(a, b)
    cases["supcon-5-recompute"] = lambda a, b, dev: InfoNCE(0.2, tile_size=5, tile_cache_mb=0)(a, **kw(dev))
    cases["hard-negatives"] = lambda a, b, dev: HardNegativeInfoNCE(0.2, top_k=3)(a, b)
    cases["listwise"] = lambda a, b, dev: InfoNCE(0.2)(
        a, candidates=torch.stack([b, b.roll(1, 0), b.roll(2, 0)], 1),
        positive_index=torch.zeros(N, dtype=torch.long, device=dev))
    cases["neg-sq-euclidean"] = lambda a, b, dev: InfoNCE(0.2, similarity="neg_sq_euclidean")(a, b)
    cases["tensor-temperature"] = lambda a, b, dev: InfoNCE(mode="symmetric")(
        a, b, temperature=torch.tensor(0.3, dtype=a.dtype, device=dev))
    return cases


CASES = _cases()


def _run(case: str, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(N, D, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_()
    b = torch.randn(N, D, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_()
    value = CASES[case](a, b, device)
    assert value.device.type == torch.device(device).type
    value.backward()
    return value.detach().cpu(), a.grad.cpu(), (torch.zeros(N, D) if b.grad is None else b.grad.cpu())


@pytest.mark.parametrize("case", sorted(CASES))
def test_cuda_equals_cpu(case: str) -> None:
    for got, want in zip(_run(case, "cuda", torch.float64), _run(case, "cpu", torch.float64), strict=True):
        torch.testing.assert_close(got.to(want.dtype), want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case", ["ntxent-5", "clip-5", "supcon-None", "clip-None"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_half_precision(case: str, dtype: torch.dtype) -> None:
    got = _run(case, "cuda", dtype)
    want = _run(case, "cpu", torch.float64)
    assert all(bool(torch.isfinite(x).all()) for x in got)
    torch.testing.assert_close(got[0].double(), want[0], rtol=2e-2, atol=2e-2)
