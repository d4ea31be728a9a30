"""SimCSE / DebCSE miniatures: dropout views, the top-layer encoder, the IPW sampler, quick smoke runs."""

import numpy as np
import pytest
import torch

from contrastkit.papers._text import TopLayers, embed, length_bias, lower_states


@pytest.fixture(scope="module")
def encoder():
    from contrastkit.text import TextEncoder

    return TextEncoder.from_pretrained(max_length=16)


def test_top_layers_equal_the_encoder_and_dropout_makes_the_views(encoder):
    texts = ["a cat sat on the mat", "stocks fell sharply in early trading today", "rain is expected"]
    states, mask = lower_states(encoder, texts, 1, max_length=16)
    top = TopLayers(encoder, 1)
    assert torch.allclose(embed(top, states, mask), encoder.encode(texts, normalize=False), atol=1e-5)
    top.train()
    with torch.no_grad():
        a, b = top(states, mask), top(states, mask)
        top.eval()
        c, d = top(states, mask), top(states, mask)
    assert not torch.allclose(a, b)  # train mode: two dropout masks, two views
    assert torch.equal(c, d)  # eval mode: deterministic
    with pytest.raises(ValueError, match="k"):
        TopLayers(encoder, 99)


def test_length_bias_hand_values():
    lengths = np.array([1, 2, 4, 8])  # all six length gaps distinct (no ties)
    # embeddings whose cosine falls exactly with the length gap: rho = 1
    angles = torch.tensor(lengths, dtype=torch.float64) * 0.1
    emb = torch.stack([angles.cos(), angles.sin()], dim=1)
    assert length_bias(emb, lengths) == pytest.approx(1.0)
    # a random embedding carries no length signal beyond chance
    rand = torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(length_bias(rand, lengths)) < 1.0


def test_debcse_sampler_ipw_positives_flatter_and_rows_sum_to_one():
    from contrastkit.papers.debcse.sampling import build_sampler, entropy

    g = torch.Generator().manual_seed(0)
    n = 60
    teacher = torch.randn(n, 8, generator=g)
    teacher[1::2] = teacher[0::2] + 0.05 * torch.randn(n // 2, 8, generator=g)  # paraphrase pairs
    lengths = torch.randint(5, 30, (n,), generator=g)
    ipw = build_sampler(teacher, lengths, neighbours=4, theta_pos=0.3, theta_neg=0.2, edges=[2, 5, 10], ipw=True)
    uni = build_sampler(teacher, lengths, neighbours=4, theta_pos=0.3, theta_neg=0.2, edges=[2, 5, 10], ipw=False)
    for s in (ipw, uni):
        has = s.pos_prob.sum(1) > 0
        assert torch.allclose(s.pos_prob[has].sum(1), torch.ones(int(has.sum()), dtype=torch.float64))
        assert torch.allclose(s.neg_prob.sum(1), torch.ones(n, dtype=torch.float64))
    assert entropy(ipw.positive_bin_histogram()) >= entropy(uni.positive_bin_histogram()) - 1e-12
    pos, neg = ipw(torch.arange(10), torch.Generator().manual_seed(1))
    assert pos.shape == neg.shape == (10,) and not bool((neg == torch.arange(10)).any())


@pytest.mark.parametrize("name", ["simcse", "debcse", pytest.param("primer", marks=pytest.mark.requires_fortunes)])
def test_quick_reproduction_is_a_smoke_run(name):
    from contrastkit.papers import get_reproduction

    result = get_reproduction(name)(quick=True)
    assert result.outcome() == "smoke" and result.quick
    assert all(not c.gating for c in result.claims)
