"""Generation metrics (rep-n, diversity, coherence, isotropy) and the SimCTG loss against references."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.generation._testing import tiny_gpt2
from contrastkit.generation.metrics import (
    coherence,
    diversity,
    isotropy,
    mauve_score,
    rep_n,
    repetition_stats,
)
from contrastkit.generation.simctg import simctg_contrastive_loss, simctg_lm_loss

TEXTS = ["a b c a b c a b c", "the cat sat on the mat"]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_rep_n_official_and_inclusive_hand_numbers() -> None:
    """SimCTG's rep-n: official (36.36, 33.33, 28.57) vs inclusive (38.46, 36.36, 33.33)."""
    official = [round(rep_n(TEXTS, n), 2) for n in (2, 3, 4)]
    inclusive = [round(rep_n(TEXTS, n, official_compat=False), 2) for n in (2, 3, 4)]
    assert official == [36.36, 33.33, 28.57]
    assert inclusive == [38.46, 36.36, 33.33]
    div = diversity(TEXTS)
    assert div == pytest.approx((1 - 4 / 11) * (1 - 3 / 9) * (1 - 2 / 7))
    stats = repetition_stats(TEXTS, official_compat=False)
    assert stats["diversity"] == pytest.approx((1 - 5 / 13) * (1 - 4 / 11) * (1 - 3 / 9))


def test_rep_n_errors() -> None:
    with pytest.raises(TypeError, match="texts"):
        rep_n("a b c", 2)
    with pytest.raises(ValueError, match="n"):
        rep_n(TEXTS, 0)
    with pytest.raises(ValueError, match="texts"):
        rep_n(["a b"], 4)


def test_coherence_equals_manual_log_prob() -> None:
    model = tiny_gpt2(0, std=0.2)
    prefix, cont = [5, 6, 7], [8, 9]
    got = coherence(model, [prefix, prefix], [cont, [10]], bos_token_id=1)
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([[1, 5, 6, 7, 8, 9]])).logits[0], -1)
        first = (lp[3, 8] + lp[4, 9]) / 2
        lp2 = torch.log_softmax(model(torch.tensor([[1, 5, 6, 7, 10]])).logits[0], -1)
    assert got == pytest.approx(float((first + lp2[3, 10]) / 2), abs=1e-5)


def test_isotropy_reference_and_mask() -> None:
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 5, 8, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    ref = []
    for b, t in ((0, 5), (1, 3)):
        s = [float(torch.cosine_similarity(h[b, i], h[b, j], dim=0)) for i in range(t) for j in range(t) if i != j]
        ref.append(1 - sum(s) / len(s))
    assert isotropy(h, mask) == pytest.approx(sum(ref) / 2, abs=1e-6)
    same = torch.ones(1, 4, 3)
    assert isotropy(same) == pytest.approx(0.0, abs=1e-6)


def test_mauve_optional() -> None:
    try:
        import mauve  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="mauve-text"):
            mauve_score([[0.0]], [[0.0]])
        return
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(0)).numpy()
    assert mauve_score(x, x) > 0.9
    assert mauve_score(x, x + 20) < 0.1


def simctg_double_loop(h: torch.Tensor, mask: torch.Tensor, rho: float) -> float:
    """SimCTG's isotropy formula with a python double loop; pairs pooled over the batch."""
    total, count = 0.0, 0
    for b in range(h.shape[0]):
        idx = [t for t in range(h.shape[1]) if mask[b, t]]
        for i in idx:
            for j in idx:
                if i == j:
                    continue
                sii = float(torch.cosine_similarity(h[b, i], h[b, i], dim=0))
                sij = float(torch.cosine_similarity(h[b, i], h[b, j], dim=0))
                total += max(0.0, rho - sii + sij)
                count += 1
    return total / count


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_simctg_loss_equals_double_loop_with_padding(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(1)
    h = (torch.randn(3, 6, 5, generator=g) + 0.3).to(dtype)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    got = simctg_contrastive_loss(h, mask, margin=0.5)
    assert float(got) == pytest.approx(simctg_double_loop(h, mask, 0.5), abs=1e-5)
    # padding content must not matter
    h2 = h.clone()
    h2[1, :2] = 100.0
    assert float(simctg_contrastive_loss(h2, mask)) == pytest.approx(float(got), abs=1e-6)
    assert float(simctg_contrastive_loss(h, mask, margin=0.0)) == pytest.approx(0.0, abs=1e-6)


def test_simctg_lm_loss_and_errors() -> None:
    model = tiny_gpt2(0, std=0.2)
    ids = torch.tensor([[5, 6, 7, 8], [0, 9, 10, 11]])
    mask = torch.tensor([[1, 1, 1, 1], [0, 1, 1, 1]])
    out = simctg_lm_loss(model, ids, mask)
    assert math.isfinite(out["loss"].item())
    assert out["loss"].item() == pytest.approx((out["mle"] + out["cl"]).item(), abs=1e-6)
    out["loss"].backward()
    assert model.transformer.wte.weight.grad is not None
    with pytest.raises(ValueError, match="margin"):
        simctg_contrastive_loss(torch.randn(1, 3, 2), margin=-1)
    with pytest.raises(ValueError, match="attention_mask"):
        simctg_contrastive_loss(torch.randn(1, 3, 2), torch.tensor([[1, 0, 0]]))
    with pytest.raises(ValueError, match="hidden"):
        simctg_contrastive_loss(torch.randn(3, 2))
