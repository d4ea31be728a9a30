"""Batched augmentations: shapes, determinism, invariants against hand-computed references."""

import pytest
import torch

from contrastkit.timeseries import augment as A


@pytest.fixture
def x():
    return torch.randn(8, 3, 50, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", sorted(A.AUGMENTATIONS))
def test_shape_and_determinism(x, name):
    fn = A.get_augmentation(name)
    a = fn(x, generator=torch.Generator().manual_seed(1))
    b = fn(x, generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and torch.isfinite(a).all()


def test_jitter_and_scaling_statistics():
    x = torch.zeros(200, 2, 500)
    assert abs(float(A.jitter(x, 0.3).std()) - 0.3) < 0.01
    s = A.scaling(torch.ones(4000, 1, 5), 0.5)
    assert torch.allclose(s, s[:, :, :1].expand_as(s))  # one factor per series and channel
    assert abs(float(s[:, 0, 0].mean()) - 1) < 0.05 and abs(float(s[:, 0, 0].std()) - 0.5) < 0.05


def test_permutation_is_segment_shuffle(x):
    y = A.permutation(x, 5, generator=torch.Generator().manual_seed(3))
    for i in range(x.shape[0]):
        # a permutation of the steps, shared by all channels ...
        order = [int((x[i, 0] == v).nonzero()[0]) for v in y[i, 0]]
        assert sorted(order) == list(range(50))
        assert torch.equal(y[i], x[i][:, order])
        # ... made of at most 5 contiguous runs
        runs = 1 + sum(1 for a, b in zip(order, order[1:], strict=False) if b != a + 1)
        assert runs <= 5
    assert torch.equal(A.permutation(x, 1), x)


def test_masking_modes():
    x = torch.ones(100, 1, 200)
    kept = A.masking(x, 0.5)
    assert set(kept.unique().tolist()) <= {0.0, 1.0} and abs(float(kept.mean()) - 0.5) < 0.02
    m = A.keep_mask(10, 100, mode="continuous", n_spans=1, span=0.1)
    assert (~m).sum(1).eq(10).all()  # one span of 10 steps per series
    with pytest.raises(ValueError, match="mode"):
        A.masking(x, mode="random")


def test_cropping_and_time_warp_identities(x):
    torch.testing.assert_close(A.cropping(x, 1.0), x)
    torch.testing.assert_close(A.time_warp(x, 0.0), x)
    ramp = torch.arange(50.0).view(1, 1, 50).repeat(4, 1, 1)
    warped = A.time_warp(ramp, 0.3, generator=torch.Generator().manual_seed(0))
    assert (warped.diff(dim=-1) >= -1e-5).all()  # warping is monotone in time
    assert torch.allclose(warped[..., 0], ramp[..., 0]) and torch.allclose(warped[..., -1], ramp[..., -1])
    cropped = A.cropping(ramp, 0.5, generator=torch.Generator().manual_seed(0))
    span = cropped[..., -1] - cropped[..., 0]
    assert ((span >= 0.5 * 49 - 1e-4) & (span <= 49 + 1e-4)).all()


def test_interpolate_reference():
    x = torch.tensor([[[0.0, 10.0, 20.0]]])
    out = A.interpolate_at(x, torch.tensor([[0.0, 0.25, 1.5, 2.0]]))
    torch.testing.assert_close(out, torch.tensor([[[0.0, 2.5, 15.0, 20.0]]]))


def test_bad_input():
    with pytest.raises(ValueError, match="x"):
        A.jitter(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="sigma"):
        A.scaling(torch.zeros(1, 1, 4), -1.0)
    with pytest.raises(ValueError, match="max_segments"):
        A.permutation(torch.zeros(1, 1, 4), 0)
    with pytest.raises(ValueError, match="augmentation"):
        A.get_augmentation("mixup")
