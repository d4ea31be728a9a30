"""Memory queue (FIFO ring) and momentum encoders."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.losses import InfoNCE
from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum, update_momentum
from contrastkit.mining.queue import MemoryQueue


def test_ring_order_matches_a_naive_list():
    queue = MemoryQueue(7, 2, dtype=torch.float64)
    naive: list[tuple[list[float], int]] = []
    counter = 0
    for n in (3, 2, 4, 1, 9, 5, 7, 2):  # wraps around, and once enqueues more than the size
        keys = torch.arange(counter, counter + n, dtype=torch.float64).unsqueeze(1).repeat(1, 2)
        labels = torch.arange(counter, counter + n) * 10
        queue.enqueue(keys, labels=labels)
        for k in range(counter, counter + n):
            naive.append(([float(k), float(k)], k * 10))
        naive = naive[-7:]
        counter += n
        assert len(queue) == len(naive)
        assert queue.negatives().tolist() == [k for k, _ in naive]
        assert queue.stored_labels().tolist() == [lab for _, lab in naive]
        assert queue.stored_ids().tolist() == [-1] * len(naive)
    queue.reset()
    assert queue.negatives().shape == (0, 2)


def test_queue_contents_carry_no_grad_and_feed_infonce():
    queue = MemoryQueue(16, 4)
    k = torch.randn(8, 4, requires_grad=True)
    queue.enqueue(k * 2)
    negatives = queue.negatives()
    assert not negatives.requires_grad and negatives.grad_fn is None
    assert not queue.keys.requires_grad
    q = torch.randn(8, 4, requires_grad=True)
    loss = InfoNCE(0.2, mode="a_to_b")(q, k, negatives=negatives)
    loss.backward()
    assert q.grad is not None and k.grad is not None
    # Enqueueing after the loss does not break its graph, and returned negatives are a copy.
    queue.enqueue(torch.randn(8, 4))
    assert torch.equal(negatives, (k * 2).detach())
    tiled = InfoNCE(0.2, mode="a_to_b", tile_size=5)(q, k, negatives=negatives)
    torch.testing.assert_close(tiled, loss)


def test_queue_errors_and_state_dict():
    with pytest.raises(ValueError, match="size"):
        MemoryQueue(0, 3)
    queue = MemoryQueue(4, 3)
    with pytest.raises(ValueError, match="keys"):
        queue.enqueue(torch.randn(2, 5))
    with pytest.raises(ValueError, match="labels"):
        queue.enqueue(torch.randn(2, 3), labels=torch.zeros(3, dtype=torch.long))
    queue.enqueue(torch.randn(3, 3))
    copy = MemoryQueue(4, 3)
    copy.load_state_dict(queue.state_dict())
    assert torch.equal(copy.negatives(), queue.negatives()) and len(copy) == 3


def test_momentum_update_formula():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    online(torch.randn(5, 3))  # change the running statistics
    before = {n: p.detach().clone() for n, p in target.named_parameters()}
    update_momentum(online, target, 0.9)
    for name, p in target.named_parameters():
        expected = 0.9 * before[name] + 0.1 * dict(online.named_parameters())[name].detach()
        torch.testing.assert_close(p, expected)
    torch.testing.assert_close(target[1].running_mean, online[1].running_mean)
    with pytest.raises(ValueError, match="m"):
        update_momentum(online, target, 1.5)


def test_momentum_encoder():
    torch.manual_seed(0)
    online = nn.Linear(3, 2)
    enc = MomentumEncoder(online)
    assert all(not p.requires_grad for p in enc.parameters())
    assert len(list(enc.parameters())) == 2  # the online model is not a submodule
    x = torch.randn(4, 3)
    out = enc(x)
    assert not out.requires_grad
    torch.testing.assert_close(out, online(x).detach())
    with torch.no_grad():
        online.weight.add_(1.0)
    old = enc.target.weight.clone()
    enc.update(0.75)
    torch.testing.assert_close(enc.target.weight, 0.75 * old + 0.25 * online.weight.detach())
    enc.update(0.0)
    torch.testing.assert_close(enc.target.weight, online.weight.detach())


def test_cosine_momentum():
    assert cosine_momentum(0, 100, start=0.99) == pytest.approx(0.99)
    assert cosine_momentum(100, 100, start=0.99) == pytest.approx(1.0)
    assert cosine_momentum(50, 100, start=0.99) == pytest.approx(0.995)
    t = 30 / 100
    assert cosine_momentum(30, 100, 0.9, 1.0) == pytest.approx(1 - 0.1 * (math.cos(math.pi * t) + 1) / 2)
    assert cosine_momentum(200, 100) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="total_steps"):
        cosine_momentum(1, 0)
