"""2-process gloo runs == single-process run on the concatenated batch (loss and gradients)."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from contrastkit.functional.distributed import (
    all_gather_with_grad,
    distributed_reduce,
    is_distributed,
    world_size,
)
from contrastkit.losses import DCL, DCLW, InfoNCE
from contrastkit.mining.queue import MemoryQueue

WORLD = 2
SIZES = (5, 3)  # unequal local batches: padding and offsets must be right
D_IN, D_OUT = 6, 4

CONFIGS = {
    "infonce_two_view": (InfoNCE, dict(mode="two_view"), dict()),
    "supcon_labels": (InfoNCE, dict(mode="two_view"), dict(labels=True)),
    "supcon_single_view": (InfoNCE, dict(mode="two_view"), dict(labels=True, single=True)),
    "clip_symmetric": (InfoNCE, dict(mode="symmetric"), dict()),
    "clip_negatives": (InfoNCE, dict(mode="symmetric"), dict(negatives=True)),
    "a_to_b_negatives": (InfoNCE, dict(mode="a_to_b"), dict(negatives=True)),
    "dcl_two_view": (DCL, dict(mode="two_view"), dict()),
    "dclw_clip": (DCLW, dict(mode="symmetric"), dict()),
    # Denominator weights describe the global batch (the same tensor / callable on every rank).
    "den_two_view_callable": (InfoNCE, dict(mode="two_view"), dict(den="callable", negatives=True)),
    "den_a_to_b_dense_group": (DCL, dict(mode="a_to_b"), dict(den="dense", negatives=True, group=True)),
    "den_clip_callable_group": (InfoNCE, dict(mode="symmetric"), dict(den="callable", negatives=True, group=True)),
    "listwise_dclw": (DCLW, dict(mode="a_to_b"), dict(den="dense", listwise=True)),
    "duplicates_two_view": (InfoNCE, dict(mode="two_view", duplicates="exclude"), dict(labels=True)),
    "duplicates_clip_dclw": (DCLW, dict(mode="symmetric", duplicates="exclude"), dict(labels=True)),
    "hard_negatives_clip": (InfoNCE, dict(mode="symmetric", hard_top_k=2), dict(negatives=True)),
}
DENSE_ONLY = {"hard_negatives_clip"}  # declared without a tiled execution
K = 3  # per-anchor candidates


def _data():
    g = torch.Generator().manual_seed(0)
    n = sum(SIZES)
    x1 = torch.randn(n, D_IN, generator=g, dtype=torch.float64)
    x2 = x1 + 0.3 * torch.randn(n, D_IN, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (n,), generator=g)
    negs = torch.randn(2 * WORLD, D_IN, generator=g, dtype=torch.float64)
    groups = torch.randn(n, K, D_IN, generator=g, dtype=torch.float64)
    q = torch.rand(2 * n, 2 * n + 2 * WORLD + K, generator=g, dtype=torch.float64) * 2
    q[torch.rand(q.shape, generator=g) < 0.2] = 0
    q[:, 0] = 1.0  # every row keeps a candidate
    return x1, x2, labels, negs, groups, q, torch.randint(0, K, (n,), generator=g)


def _global_weights(mode: str, call: dict, q: torch.Tensor) -> torch.Tensor:
    n, m = sum(SIZES), 2 * WORLD if call.get("negatives") else 0
    k = K if call.get("group") or call.get("listwise") else 0
    if call.get("listwise"):
        return q[:n, :k]
    if mode == "two_view":
        return q[: 2 * n, : 2 * n + m]
    return q[:n, : n + m + k]


def _encoder() -> torch.nn.Linear:
    torch.manual_seed(1)
    return torch.nn.Linear(D_IN, D_OUT, dtype=torch.float64)


def _step(name: str, tile: int | None, rows: slice, neg_rows: slice | None, gather: bool):
    cls, init, call = CONFIGS[name]
    x1, x2, labels, negs, groups, q, positive_index = _data()
    enc = _encoder()
    loss = cls(0.5, tile_size=tile, gather_distributed=gather, **init)
    kwargs = {}
    if call.get("labels"):
        kwargs["labels"] = labels[rows]
    if call.get("negatives"):
        kwargs["negatives"] = enc(negs[neg_rows])
    if call.get("den"):
        weights = _global_weights(init["mode"], call, q)
        kwargs["denominator_weights"] = weights if call["den"] == "dense" else (lambda r, c: weights[r, c])
    if call.get("group") or call.get("listwise"):
        kwargs["candidates"] = enc(groups[rows])
    if call.get("listwise"):
        kwargs["positive_index"] = positive_index[rows]
    single = call.get("single") or call.get("listwise")
    args = (enc(x1[rows]),) if single else (enc(x1[rows]), enc(x2[rows]))
    value = loss(*args, **kwargs)
    value.backward()
    return value.detach(), [p.grad.detach().clone() for p in enc.parameters()]


def _worker(rank: int, init_file: str, out_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    start = sum(SIZES[:rank])
    rows = slice(start, start + SIZES[rank])
    neg_rows = slice(2 * rank, 2 * rank + 2)
    results = {}
    for name in CONFIGS:
        for tile in (None, 3):
            if tile is not None and name in DENSE_ONLY:
                continue
            value, grads = _step(name, tile, rows, neg_rows, True)
            # What DDP does: average the parameter gradients over ranks.
            for g in grads:
                dist.all_reduce(g)
                g /= WORLD
            dist.all_reduce(value)
            results[(name, tile)] = (value / WORLD, grads)
    # The gather primitive on its own: rank-ordered concatenation, summed gradients.
    x = torch.full((SIZES[rank], 2), float(rank), dtype=torch.float64, requires_grad=True)
    gathered = all_gather_with_grad(x)
    weights = torch.arange(gathered.shape[0], dtype=torch.float64).unsqueeze(1) * (1 + rank)
    (gathered * weights).sum().backward()
    results["gather"] = (gathered.detach(), x.grad.detach())
    results["world"] = (world_size(), is_distributed())
    queue = MemoryQueue(6, 2, dtype=torch.float64, gather_distributed=True)
    queue.enqueue(torch.full((SIZES[rank], 2), float(rank), dtype=torch.float64))
    results["queue"] = queue.negatives()
    torch.save(results, f"{out_file}.{rank}")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_results():
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, "init")
        out_file = os.path.join(tmp, "out")
        mp.spawn(_worker, args=(init_file, out_file), nprocs=WORLD, join=True)
        return [torch.load(f"{out_file}.{r}", weights_only=False) for r in range(WORLD)]


@pytest.mark.parametrize("tile", [None, 3])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_ddp_equals_single_process(distributed_results, name, tile):
    if tile is not None and name in DENSE_ONLY:
        pytest.skip("dense-only variant")
    n = sum(SIZES)
    ref_value, ref_grads = _step(name, tile, slice(0, n), slice(0, 2 * WORLD), False)
    for rank_results in distributed_results:
        value, grads = rank_results[(name, tile)]
        torch.testing.assert_close(value, ref_value, rtol=1e-10, atol=1e-12)
        for g, r in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_gather_order_and_gradient(distributed_results):
    expected = torch.cat([torch.full((s, 2), float(r), dtype=torch.float64) for r, s in enumerate(SIZES)])
    for rank, results in enumerate(distributed_results):
        gathered, grad = results["gather"]
        torch.testing.assert_close(gathered, expected)
        start = sum(SIZES[:rank])
        rows = torch.arange(start, start + SIZES[rank], dtype=torch.float64).unsqueeze(1)
        # d/dx of sum_r sum_i (1 + r) * i * x_i = (1 + 2) * i: summed over both ranks.
        torch.testing.assert_close(grad, (rows * 3).expand(-1, 2))
        assert results["world"] == (WORLD, True)
        # Every rank holds the same queue: all ranks' keys in rank order, the oldest dropped.
        torch.testing.assert_close(results["queue"], expected[-6:])


def test_single_process_is_a_no_op():
    assert not is_distributed() and world_size() == 1
    x = torch.randn(3, 2, requires_grad=True)
    assert all_gather_with_grad(x) is x
    loss = torch.tensor([1.0, 3.0])
    assert distributed_reduce(loss, torch.tensor([True, True]), "mean") == 2.0
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    assert InfoNCE(gather_distributed=True)(a, b) == InfoNCE()(a, b)


def test_gather_distributed_argument_errors():
    with pytest.raises(TypeError, match="gather_distributed"):
        InfoNCE(gather_distributed="yes")  # type: ignore[arg-type]
