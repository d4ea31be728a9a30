"""Smoke tests of the image reproductions (`contrastkit reproduce NAME --quick`).

Quick runs train for a few steps, so accuracy claims are only reported; the mechanism checks
that hold for any embeddings (DCL's uncoupled positive gradient) are asserted.
"""

import pytest
import torch

from contrastkit.reproduce import get_reproduction
from contrastkit.reproduce.vision import positive_logit_gradients


def test_positive_gradient_mechanism_on_random_embeddings():
    z = torch.randn(2, 512, 16, dtype=torch.float64)
    small, large = positive_logit_gradients(z, 16, 0.1), positive_logit_gradients(z, 256, 0.1)
    assert small["dcl"] == pytest.approx(1.0, abs=1e-9) and large["dcl"] == pytest.approx(1.0, abs=1e-9)
    assert 0 < small["ntxent"] < large["ntxent"] < 1


@pytest.mark.parametrize("name", ["dcl", "cacr", "temperature"])
def test_quick_reproduction_runs(name):
    result = get_reproduction(name)(quick=True)
    assert result.quick and result.claims
    assert not any(c.gating for c in result.claims)
    if name == "dcl":
        assert result.metrics["dcl_16"] == [pytest.approx(1.0, abs=1e-6)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dcl", "cacr", "temperature"])
def test_full_reproduction_claims(name):
    result = get_reproduction(name)(quick=False)
    print(result.summary())
    assert result.passed(), result.summary()
