"""Alignment, uniformity, tolerance, relative penalty, effective rank and zero-shot accuracy.

Hand values worked out independently of the library (numpy transcription of the formulas).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from contrastkit.evaluate import (
    alignment,
    effective_rank,
    relative_penalty,
    tolerance,
    uniformity,
    zero_shot_accuracy,
)

Z1 = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.6, 0.8]])
Z2 = torch.tensor([[0.8, 0.6, 0.0], [0.0, 1.0, 0.0], [0.6, 0.0, 0.8]])


# ---------------------------------------------------------------- hand cases (worked by hand)
def test_uniformity_hand_value():
    assert uniformity(torch.cat([Z1, Z2]), t=2) == pytest.approx(-1.52794, abs=1e-5)


def test_tolerance_hand_value():
    assert tolerance(torch.cat([Z1, Z2]), torch.tensor([0, 0, 1, 0, 1, 1])) == pytest.approx(0.6, abs=1e-6)


@pytest.mark.parametrize(
    "tau,want",
    [(0.07, [0.000189, 0.999811]), (0.2, [0.047426, 0.952574]), (1.0, [0.354344, 0.645656])],
)
def test_relative_penalty_hand_values(tau, want):
    r = relative_penalty(Z1[0], Z2[0], Z2[1:], tau)
    assert r.shape == (2,)
    assert r.tolist() == pytest.approx(want, abs=1e-6)


# ---------------------------------------------------------------- naive references
def test_alignment_matches_loop_and_normalises():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(20, 5, generator=g), torch.randn(20, 5, generator=g)
    for alpha in (1, 2, 3.5):
        want = np.mean([np.linalg.norm(x / np.linalg.norm(x) - y / np.linalg.norm(y)) ** alpha
                        for x, y in zip(a.double().numpy(), b.double().numpy(), strict=True)])
        assert alignment(a, b, alpha=alpha) == pytest.approx(want, rel=1e-5)
    assert alignment(a, 3.0 * a) == pytest.approx(0.0, abs=1e-6)
    assert alignment(a, -a) == pytest.approx(4.0, rel=1e-5)  # antipodal: ||2u||^2 = 4


def test_uniformity_matches_pair_loop_and_chunks():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(23, 4, generator=g, dtype=torch.float64)
    u = z / z.norm(dim=1, keepdim=True)
    for t in (0.5, 2.0):
        terms = [math.exp(-t * float(((u[i] - u[j]) ** 2).sum()))
                 for i, j in itertools.combinations(range(23), 2)]
        want = math.log(sum(terms) / len(terms))
        for chunk in (1, 5, 2048):
            assert uniformity(z, t=t, chunk_size=chunk) == pytest.approx(want, rel=1e-10)


def test_uniformity_extremes_and_no_underflow():
    assert uniformity(torch.ones(10, 3)) == pytest.approx(0.0, abs=1e-6)  # full collapse
    # two antipodal points: log exp(-t*4)
    assert uniformity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), t=2) == pytest.approx(-8.0)
    # a large t underflows a naive mean of exp; logsumexp stays finite and exact
    assert uniformity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), t=300) == pytest.approx(-1200.0)


def test_tolerance_matches_loop_and_ignores_singletons():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(30, 6, generator=g)
    y = torch.randint(0, 5, (30,), generator=g)
    y[0] = 99  # a class of one member contributes no pair
    u = (z / z.norm(dim=1, keepdim=True)).double()
    pairs = [float(u[i] @ u[j]) for i in range(30) for j in range(30) if i != j and y[i] == y[j]]
    assert tolerance(z, y) == pytest.approx(np.mean(pairs), rel=1e-5)
    assert tolerance(z.numpy(), y.numpy()) == pytest.approx(np.mean(pairs), rel=1e-5)


def test_relative_penalty_is_the_gradient_ratio():
    # r_i(s_ij) = |dL/ds_ij| / |dL/ds_ii| for InfoNCE on a similarity vector (Wang & Liu, eq. 3-4)
    g = torch.Generator().manual_seed(3)
    anchor, positive = torch.randn(4, generator=g), torch.randn(4, generator=g)
    negs = torch.randn(6, 4, generator=g)
    tau = 0.3
    unit = torch.nn.functional.normalize
    s = torch.cat([unit(positive, dim=0)[None], unit(negs, dim=1)]) @ unit(anchor, dim=0)
    s = s.detach().requires_grad_(True)
    loss = -torch.log_softmax(s / tau, dim=0)[0]
    (grad,) = torch.autograd.grad(loss, s)
    want = grad[1:].abs() / grad[0].abs()
    got = relative_penalty(anchor, positive, negs, tau)
    assert got.tolist() == pytest.approx(want.tolist(), rel=1e-5)


def test_relative_penalty_batched_forms_and_gradient():
    g = torch.Generator().manual_seed(4)
    a, p = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    shared = torch.randn(7, 3, generator=g)
    per = torch.randn(5, 7, 3, generator=g)
    r_shared = relative_penalty(a, p, shared, 0.5)
    r_per = relative_penalty(a, p, per, 0.5)
    assert r_shared.shape == r_per.shape == (5, 7)
    for i in range(5):
        assert torch.allclose(r_shared[i], relative_penalty(a[i], p[i], shared, 0.5))
        assert torch.allclose(r_per[i], relative_penalty(a[i], p[i], per[i], 0.5))
    assert torch.allclose(r_per.sum(1), torch.ones(5))
    a.requires_grad_(True)
    relative_penalty(a, p, shared, 0.5)[:, 0].sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_effective_rank_hand_and_limits():
    # columns orthogonal to the ones vector, so centring keeps singular values (3, 1)
    u1 = torch.tensor([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    u2 = torch.tensor([0.0, 0.0, 1.0, -1.0]) / math.sqrt(2)
    z = 3 * torch.outer(u1, torch.tensor([1.0, 0, 0])) + torch.outer(u2, torch.tensor([0, 1.0, 0]))
    p = np.array([0.75, 0.25])
    assert effective_rank(z) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-6)

    g = torch.Generator().manual_seed(5)
    rank1 = torch.outer(torch.randn(200, generator=g), torch.randn(16, generator=g)) + 5.0
    assert effective_rank(rank1) == pytest.approx(1.0, abs=1e-3)
    iso = torch.randn(4000, 16, generator=g)
    assert 15.5 < effective_rank(iso) <= 16.0


def test_zero_shot_matches_loop():
    g = torch.Generator().manual_seed(6)
    text = torch.randn(4, 5, generator=g)
    y = torch.randint(0, 4, (40,), generator=g)
    img = text[y] * 2 + 1.2 * torch.randn(40, 5, generator=g)
    want = np.mean([int(np.argmax([float(i @ t) / (i.norm() * t.norm()) for t in text])) == int(c)
                    for i, c in zip(img, y, strict=True)])
    assert zero_shot_accuracy(img, text, y) == pytest.approx(want)
    assert 0.3 < want < 1.0


# ---------------------------------------------------------------- validation
def test_validation_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="z2"):
        alignment(z, torch.randn(5, 3))
    with pytest.raises(ValueError, match="z1"):
        alignment(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match="z"):
        uniformity(torch.randn(1, 3))
    with pytest.raises(ValueError, match="NaN"):
        uniformity(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="t"):
        uniformity(z, t=0)
    with pytest.raises(ValueError, match="labels"):
        tolerance(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        tolerance(z, torch.tensor([0, 1, 2, 3]))  # no same-class pair
    with pytest.raises(ValueError, match="negatives"):
        relative_penalty(z, z, torch.randn(3, 7, 3), 0.1)
    with pytest.raises(ValueError, match="positive"):
        relative_penalty(z, torch.randn(4, 2), torch.randn(7, 3), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        relative_penalty(z, z, torch.randn(7, 3), 0.0)
    with pytest.raises(ValueError, match="identical"):
        effective_rank(torch.ones(5, 3))
    with pytest.raises(ValueError, match="labels"):
        zero_shot_accuracy(z, torch.randn(2, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="class_text_emb"):
        zero_shot_accuracy(z, torch.randn(2, 4), torch.tensor([0, 1, 1, 0]))
    with pytest.raises(TypeError, match="z"):
        uniformity([[1.0, 0.0], [0.0, 1.0]])
