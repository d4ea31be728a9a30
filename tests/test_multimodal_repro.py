"""Quick smoke variants of the issue-4 reproductions (1 seed, a few steps; claims reported, not gating)."""

import pytest
import torch

from contrastkit.reproduce import REGISTRY, get_reproduction

NAMES = ["clip", "cwcl", "fini", "hydra", "sepclr", "supremix"]
# clip trains on Fashion-MNIST (optional data), and cwcl's LiT arm reads it too
NEEDS_FASHION_MNIST = ("clip", "cwcl")
QUICK = [pytest.param(n, marks=pytest.mark.requires_fashion_mnist) if n in NEEDS_FASHION_MNIST else n for n in NAMES]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", QUICK)
def test_quick_reproduction_runs_and_reports(name):
    assert REGISTRY[name] == f"contrastkit.reproduce.multimodal:{name}"
    result = get_reproduction(name)(quick=True)
    assert result.quick and result.name == name
    assert result.claims and all(not c.gating for c in result.claims)
    assert result.passed()  # quick claims never gate
    assert "(quick)" in result.summary()


def test_recipes_are_plain_data():
    from contrastkit.reproduce.multimodal import load_recipe

    for name in [*NAMES, "lit"]:
        recipe = load_recipe(name)
        assert recipe["name"] == name and "trainer" in recipe and "quick" in recipe


def test_digits_on_gratings_and_rotated_digits():
    from contrastkit.reproduce.multimodal import digits_on_gratings, rotated_digits

    images8 = torch.rand(6, 1, 8, 8)
    bg = torch.tensor([True, False, True, False, False, False])
    x, g, t = digits_on_gratings(images8, torch.arange(6), background=bg, seed=0)
    assert x.shape == (6, 1, 16, 16) and torch.equal(t, ~bg) and g.max() < 5
    assert float(x[bg].max()) <= 0.5 + 1e-6  # background: grating only
    xr, y = rotated_digits(images8, copies=2, seed=0)
    assert xr.shape == (12, 1, 16, 16) and float(y.min()) >= 0 and float(y.max()) <= 1
    x0, _ = rotated_digits(images8, max_angle=1e-6)
    torch.testing.assert_close(x0, images8.repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-4, rtol=0)
