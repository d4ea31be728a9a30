"""Two gloo processes train Hydra, SepCLR and SupReMix one step: each rank takes a different half of
the global batch, and with the embeddings gathered the DDP-averaged gradient equals one process's
gradient on the whole (concatenated) batch. Models are BatchNorm-free (per-rank BN statistics would
differ from the whole batch's by design) and unaugmented, so the reference is exact."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from contrastkit.training.steps import batch_rows, step_seed

NAMES = ("hydra", "sepclr", "supremix")
N, BATCH, SEED = 40, 16, 3


def _data():
    g = torch.Generator().manual_seed(11)
    x = torch.rand(N, 1, 4, 4, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 4, (N,), generator=g), torch.rand(N, generator=g, dtype=torch.float64), \
        torch.rand(N, generator=g) < 0.5


def _encoder() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh()).double()


def _build(name: str):
    from contrastkit.papers.hydra.module import HydraContrastive
    from contrastkit.papers.sepclr.module import SepCLRModel
    from contrastkit.papers.supremix.module import ContrastiveRegression

    x, y, t, target = _data()
    torch.manual_seed(0)
    if name == "hydra":
        model = HydraContrastive(_encoder(), nn.Linear(8, 6).double(), None, x, y, num_classes=4, pair_mode="arbitrary",
                                 batch_size=BATCH, seed=SEED)
    elif name == "sepclr":
        model = SepCLRModel(_encoder(), _encoder(), 8, 8, lambda v: v, x, target, batch_size=BATCH, seed=SEED)
        model.common_head, model.salient_head = nn.Linear(8, 8), nn.Linear(8, 8)  # no BatchNorm
    else:
        model = ContrastiveRegression(_encoder(), nn.Linear(8, 6).double(), 8, None, x, t, objective="supremix",
                                      batch_size=BATCH, seed=SEED)
    return model.double()


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for name in NAMES:
            model = _build(name)
            rows = model.step_rows(0)
            loss = model.training_step(None, 0)
            loss.backward()
            grads = []
            for p in model.trainable_parameters():
                g = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                dist.all_reduce(g)  # what DDP does: the average over ranks
                grads.append(g / world)
            torch.save({"rows": rows, "grads": grads, "loss": loss.detach()}, Path(out) / f"{name}-{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.start_processes(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True, start_method="spawn")
    return {(n, r): torch.load(out / f"{n}-{r}.pt", weights_only=True) for n in NAMES for r in (0, 1)}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_each_rank_sees_a_different_half_of_the_global_batch(two_ranks, name):
    r0, r1 = two_ranks[(name, 0)]["rows"], two_ranks[(name, 1)]["rows"]
    full = batch_rows(0, N, BATCH, SEED)
    assert len(r0) == len(r1) == BATCH // 2
    assert not set(r0.tolist()) & set(r1.tolist())
    assert sorted(torch.cat([r0, r1]).tolist()) == sorted(full.tolist())


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_ddp_gradient_equals_one_process_on_the_whole_batch(two_ranks, name):
    model = _build(name)
    rows = torch.cat([two_ranks[(name, 0)]["rows"], two_ranks[(name, 1)]["rows"]])  # rank order = gather order
    batch = model.source.take(rows)
    torch.manual_seed(step_seed(SEED, 0))  # one process: the stream every rank shares after the gather
    loss = model.loss_terms(batch, 0)["loss"]
    loss.backward()
    reference = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.trainable_parameters()]
    ddp = two_ranks[(name, 0)]["grads"]
    assert len(ddp) == len(reference)
    assert any(float(g.abs().max()) > 0 for g in reference)
    for got, want in zip(ddp, reference, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    # every rank computes the global loss, equal to the single-process value
    for r in (0, 1):
        torch.testing.assert_close(two_ranks[(name, r)]["loss"], loss.detach(), rtol=1e-9, atol=1e-12)


def test_single_process_rows_and_seed_are_unchanged():
    """Rank 0 of 1 takes the whole global batch with the pre-DDP-fix seed (behaviour-preserving)."""
    model = _build("hydra")
    assert torch.equal(model.step_rows(5), batch_rows(5, N, BATCH, SEED))
    assert step_seed(SEED, 5) == SEED * 1_000_003 + 5 * 1009


def test_source_field_and_encoder_forward_read_the_module_state() -> None:
    from contrastkit.papers.hydra.module import HydraContrastive
    from contrastkit.papers.supremix.module import ContrastiveRegression

    x, y = torch.randn(6, 1, 4, 4).double(), torch.tensor([0, 1, 2, 3, 0, 1])
    hydra = HydraContrastive(_encoder(), nn.Linear(8, 6).double(), None, x, y, num_classes=4, batch_size=2)
    assert hydra.images is hydra.source.images and torch.equal(hydra.labels, y)
    assert torch.equal(hydra(x), hydra.encoder(x))
    reg = ContrastiveRegression(_encoder(), nn.Linear(8, 6).double(), 8, None, x, y.double(), batch_size=2)
    assert torch.equal(reg.targets, y.double()) and torch.equal(reg(x), reg.encoder(x))
