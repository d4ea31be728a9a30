"""SigLIP (Zhai et al. 2023, Eq. 1): naive loop, tiled == dense, learnable scale/bias, half
precision, 2-process gloo == one process. open_clip parity lives in tests/peer."""

from __future__ import annotations

import math
import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from contrastkit.losses import SigLIP

DTYPE = torch.float64


def _naive(a: torch.Tensor, b: torch.Tensor, t: float, bias: float) -> list[float]:
    """Per-row ``-sum_j log sigmoid(z_ij (t cos(a_i, b_j) + bias))`` with Python loops."""
    rows = []
    for i in range(a.shape[0]):
        total = 0.0
        for j in range(b.shape[0]):
            ai, bj = a[i].tolist(), b[j].tolist()
            cos = sum(x * y for x, y in zip(ai, bj, strict=True)) / (
                math.sqrt(sum(x * x for x in ai)) * math.sqrt(sum(y * y for y in bj)))
            z = 1.0 if i == j else -1.0
            total += math.log1p(math.exp(-z * (t * cos + bias)))  # -log sigmoid(x) = log(1 + e^-x)
        rows.append(total)
    return rows


def _pair(n: int, d: int, seed: int, dtype: torch.dtype = DTYPE) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=DTYPE)
    b = a + 0.8 * torch.randn(n, d, generator=g, dtype=DTYPE)  # correlated pairs: positives score higher
    return a.to(dtype), b.to(dtype)


@pytest.mark.parametrize(("n", "d", "t", "bias"), [(1, 3, 10.0, -10.0), (6, 4, 10.0, -10.0), (9, 5, 3.0, 0.5)])
@pytest.mark.parametrize("tile", [None, 1, 4, 64])
def test_matches_naive_loop(n, d, t, bias, tile):
    a, b = _pair(n, d, seed=n)
    rows = _naive(a, b, t, bias)
    loss = SigLIP(t, bias, tile_size=tile)
    torch.testing.assert_close(loss(a, b), torch.tensor(sum(rows) / n, dtype=DTYPE), rtol=1e-12, atol=1e-12)
    none = SigLIP(t, bias, tile_size=tile, reduction="none")(a, b)
    torch.testing.assert_close(none, torch.tensor(rows, dtype=DTYPE), rtol=1e-12, atol=1e-12)
    total = SigLIP(t, bias, tile_size=tile, reduction="sum")(a, b)
    torch.testing.assert_close(total, torch.tensor(sum(rows), dtype=DTYPE), rtol=1e-12, atol=1e-12)


def test_hand_value_one_pair():
    # One pair, a == b: cos = 1, logit = 10 - 10 = 0, loss = -log sigmoid(0) = log 2.
    x = torch.tensor([[3.0, 4.0]], dtype=DTYPE)
    assert SigLIP()(x, x).item() == pytest.approx(math.log(2), abs=1e-15)


@pytest.mark.parametrize("tile", [1, 3, 7, 8, 50])
@pytest.mark.parametrize("learnable", [False, True])
def test_tiled_value_and_gradient_equal_dense(tile, learnable):
    a, b = _pair(8, 5, seed=3)
    a.requires_grad_()
    b.requires_grad_()
    dense = SigLIP(4.0, -2.0, learnable=learnable).double()
    tiled = SigLIP(4.0, -2.0, learnable=learnable, tile_size=tile).double()
    leaves = [a, b]
    if learnable:
        tiled.load_state_dict(dense.state_dict())
    ld, lt = dense(a, b), tiled(a, b)
    torch.testing.assert_close(lt, ld, rtol=1e-8, atol=1e-8)
    grads_d = torch.autograd.grad(ld, leaves + list(dense.parameters()))
    grads_t = torch.autograd.grad(lt, leaves + list(tiled.parameters()))
    assert len(grads_d) == (4 if learnable else 2)
    for gd, gt in zip(grads_d, grads_t, strict=True):
        assert gd.abs().sum() > 0
        torch.testing.assert_close(gt, gd, rtol=1e-8, atol=1e-8)


def test_tiled_saves_no_batch_by_batch_tensor():
    n, d, tile = 64, 4, 8
    a, b = _pair(n, d, seed=5)
    a.requires_grad_()
    b.requires_grad_()
    sizes: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        SigLIP(tile_size=tile)(a, b).backward()
    assert max(sizes) <= n * d < n * n  # only (N, d) inputs are kept for backward
    sizes.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        SigLIP()(a, b)
    assert max(sizes) >= n * n  # the dense path does keep the logit matrix (the check can fail)


def test_learnable_parameters_initialised_as_in_the_paper_and_trained():
    loss = SigLIP(learnable=True)
    assert loss.log_scale.item() == pytest.approx(math.log(10)) and loss.logit_bias.item() == -10.0
    a, b = _pair(6, 4, seed=7, dtype=torch.float32)
    value = loss(a, b)
    g_scale, g_bias = torch.autograd.grad(value, [loss.log_scale, loss.logit_bias])
    # The same value with the parameters passed explicitly, and d/dt' = t * d/dt.
    t = torch.tensor(10.0, requires_grad=True)
    bias = torch.tensor(-10.0, requires_grad=True)
    ref = SigLIP()(a, b, scale=t, bias=bias)
    torch.testing.assert_close(value, ref)
    gt, gb = torch.autograd.grad(ref, [t, bias])
    torch.testing.assert_close(g_scale, 10 * gt)
    torch.testing.assert_close(g_bias, gb)
    assert SigLIP(learnable=False).state_dict() == {}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("tile", [None, 5])
def test_half_precision_is_finite_and_close(dtype, tile):
    a, b = _pair(16, 32, seed=11)
    ref = SigLIP(tile_size=tile)(a, b)
    a_h, b_h = a.to(dtype).requires_grad_(), b.to(dtype).requires_grad_()
    value = SigLIP(tile_size=tile)(a_h, b_h)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    tol = 2e-3 if dtype == torch.float16 else 1.5e-2
    assert value.item() == pytest.approx(ref.item(), rel=tol)
    value.backward()
    assert torch.isfinite(a_h.grad).all() and torch.isfinite(b_h.grad).all()


def test_scale_safe_on_large_inputs():
    a, b = _pair(5, 128, seed=2)
    ref = SigLIP()(a, b)
    torch.testing.assert_close(SigLIP()((a * 6000 / a.abs().max()).half(), (b * 6000 / b.abs().max()).half()),
                               ref.float(), rtol=2e-3, atol=0)
    torch.testing.assert_close(SigLIP()((a * 1e19).float(), (b * 1e19).float()), ref.float(), rtol=1e-5, atol=0)


def test_errors_name_the_argument():
    a, b = _pair(4, 3, seed=0)
    with pytest.raises(ValueError, match="scale"):
        SigLIP(scale=0.0)
    with pytest.raises(ValueError, match="bias"):
        SigLIP(bias=float("nan"))
    with pytest.raises(TypeError, match="learnable"):
        SigLIP(learnable="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tile_size"):
        SigLIP(tile_size=0)
    with pytest.raises(ValueError, match="b: expected the same shape"):
        SigLIP()(a, b[:3])
    with pytest.raises(ValueError, match="scale"):
        SigLIP()(a, b, scale=torch.tensor(-1.0))
    with pytest.raises(ValueError, match="bias"):
        SigLIP()(a, b, bias=torch.tensor(float("inf")))
    with pytest.raises(ValueError, match="b: expected a tensor on cpu"):
        SigLIP()(a, torch.empty(4, 3, device="meta"))
    with pytest.raises(ValueError, match="b: contains NaN"):
        SigLIP()(a, torch.full_like(b, float("nan")))


def test_config_round_trip():
    loss = SigLIP(3.0, 1.0, learnable=True, tile_size=4, reduction="sum")
    again = SigLIP(**loss.config())
    assert again.config() == loss.config() and "Zhai" in SigLIP.citation


# ---------------------------------------------------------------------------- distributed
WORLD = 2
SIZES = (5, 3)  # unequal local batches: the positive offsets must follow the rank starts
D_IN, D_OUT = 6, 4


def _step(tile: int | None, learnable: bool, rows: slice, gather: bool):
    g = torch.Generator().manual_seed(0)
    n = sum(SIZES)
    x1 = torch.randn(n, D_IN, generator=g, dtype=DTYPE)
    x2 = x1 + 0.5 * torch.randn(n, D_IN, generator=g, dtype=DTYPE)
    torch.manual_seed(1)
    enc = torch.nn.Linear(D_IN, D_OUT, dtype=DTYPE)
    loss = SigLIP(3.0, -1.0, learnable=learnable, tile_size=tile, gather_distributed=gather).double()
    value = loss(enc(x1[rows]), enc(x2[rows]))
    value.backward()
    params = list(enc.parameters()) + list(loss.parameters())
    return value.detach(), [p.grad.detach().clone() for p in params]


def _worker(rank: int, init_file: str, out_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    start = sum(SIZES[:rank])
    rows = slice(start, start + SIZES[rank])
    results = {}
    for tile in (None, 3):
        for learnable in (False, True):
            value, grads = _step(tile, learnable, rows, True)
            for grad in grads:  # what DDP does: average the parameter gradients over ranks
                dist.all_reduce(grad)
                grad /= WORLD
            dist.all_reduce(value)
            results[(tile, learnable)] = (value / WORLD, grads)
    torch.save(results, f"{out_file}.{rank}")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_results():
    with tempfile.TemporaryDirectory() as tmp:
        init_file, out_file = os.path.join(tmp, "init"), os.path.join(tmp, "out")
        mp.spawn(_worker, args=(init_file, out_file), nprocs=WORLD, join=True)
        return [torch.load(f"{out_file}.{r}", weights_only=True) for r in range(WORLD)]


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("tile", [None, 3])
def test_two_gloo_processes_equal_one_process(distributed_results, tile, learnable):
    ref_value, ref_grads = _step(tile, learnable, slice(0, sum(SIZES)), False)
    assert len(ref_grads) == (4 if learnable else 2)
    for results in distributed_results:
        value, grads = results[(tile, learnable)]
        torch.testing.assert_close(value, ref_value, rtol=1e-10, atol=1e-12)
        for grad, ref in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(grad, ref, rtol=1e-10, atol=1e-12)


def test_gather_without_process_group_is_the_plain_loss():
    a, b = _pair(5, 3, seed=9)
    assert SigLIP(gather_distributed=True)(a, b) == SigLIP()(a, b)
