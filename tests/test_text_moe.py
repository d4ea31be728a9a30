"""Domain mixture of experts (enforced routing) and top-layer training on cached states: conversion is
output-identical, a step on one domain's data moves only that expert, the top layers on cached lower states
equal the full encoder, MNRL through InfoNCE equals a naive loop, and bad input is named."""

import math

import pytest
import torch

from contrastkit.text import TextEncoder
from contrastkit.text.moe import DomainExperts, TopLayers, convert_to_domain_experts, lower_states, route

TEXTS = ["A man is playing a guitar.", "The cat sat on the mat.", "Stocks fell sharply on Monday.",
         "A woman plays the violin on stage.", "Rain is expected over the weekend in the north.",
         "The compiler rejected the program."]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder.from_pretrained(max_length=24)


@pytest.fixture(scope="module")
def cached(encoder):
    return lower_states(encoder, TEXTS, n_top=2, cache_dir=None)


def test_top_layers_on_cached_states_equal_the_full_encoder(encoder, cached):
    states, mask = cached
    assert states.shape == (6, 24, 384) and mask.shape == (6, 24)
    top = TopLayers(encoder, n_top=2).eval()
    encoder.eval()
    with torch.no_grad():
        tok = encoder.tokenizer(TEXTS, padding="max_length", truncation=True, max_length=24, return_tensors="pt")
        full = encoder(tok["input_ids"], tok["attention_mask"])
        torch.testing.assert_close(top(states, mask), full, atol=1e-5, rtol=0)


def test_conversion_is_output_identical_for_every_assignment(encoder, cached):
    states, mask = cached
    top = TopLayers(encoder, n_top=2).eval()
    with torch.no_grad():
        before = top(states, mask)
    blocks = convert_to_domain_experts(top, 3, layers=(0, 1))
    assert len(blocks) == 2 and all(isinstance(b, DomainExperts) and b.n_experts == 3 for b in blocks)
    gen = torch.Generator().manual_seed(0)
    assignments = [torch.zeros(6, dtype=torch.long), torch.full((6,), 2), torch.randint(0, 3, (6,), generator=gen)]
    with torch.no_grad():
        for domains in assignments:
            torch.testing.assert_close(top(states, mask, domains), before, atol=1e-6, rtol=0)


def test_full_encoder_conversion_is_output_identical(encoder):
    import copy

    enc = copy.deepcopy(encoder).eval()
    before = enc.encode(TEXTS[:4])
    convert_to_domain_experts(enc, 2, layers=(-2, -1))
    for domains in (torch.tensor([0, 0, 1, 1]), torch.tensor([1, 0, 1, 0])):
        with route(enc, domains):
            after = enc.encode(TEXTS[:4], batch_size=4)
        torch.testing.assert_close(after, before, atol=1e-6, rtol=0)


def test_a_step_on_domain_k_leaves_the_other_experts_unchanged(encoder, cached):
    from contrastkit.text.interop import mnrl

    states, mask = cached
    torch.manual_seed(0)
    top = TopLayers(encoder, n_top=1).train()
    (block,) = convert_to_domain_experts(top, 3)
    snap = [{k: v.detach().clone() for k, v in e.state_dict().items()} for e in block.experts]
    shared = {k: v.detach().clone() for k, v in top.layer[0].attention.state_dict().items()}
    opt = torch.optim.AdamW(top.parameters(), lr=1e-3, weight_decay=0.01)
    domains = torch.ones(3, dtype=torch.long)
    loss = mnrl()(top(states[:3], mask[:3], domains), top(states[3:], mask[3:], domains))
    loss.backward()
    opt.step()
    for e in (0, 2):
        for k, v in block.experts[e].state_dict().items():
            assert torch.equal(v, snap[e][k]), (e, k)
    moved = [k for k, v in block.experts[1].state_dict().items() if not torch.equal(v, snap[1][k])]
    assert "intermediate.dense.weight" in moved and "output.dense.weight" in moved
    assert any(not torch.equal(v, shared[k]) for k, v in top.layer[0].attention.state_dict().items())


def test_mnrl_equals_a_naive_loop():
    from contrastkit.text.interop import mnrl

    gen = torch.Generator().manual_seed(1)
    a, p = torch.randn(5, 8, generator=gen, dtype=torch.float64), torch.randn(5, 8, generator=gen, dtype=torch.float64)
    total = 0.0
    for i in range(5):
        s = [20.0 * float(a[i] @ p[j] / (a[i].norm() * p[j].norm())) for j in range(5)]
        m = max(s)
        total += -(s[i] - m - math.log(sum(math.exp(x - m) for x in s)))
    assert float(mnrl(20.0)(a, p)) == pytest.approx(total / 5, rel=1e-12)


def test_bad_input_is_named(encoder, cached):
    states, mask = cached
    top = TopLayers(encoder, n_top=1)
    with pytest.raises(ValueError, match="model: has no DomainExperts"), route(top, torch.zeros(6, dtype=torch.long)):
        pass
    convert_to_domain_experts(top, 2)
    with pytest.raises(ValueError, match="domains: required"):
        top(states, mask)
    with pytest.raises(ValueError, match=r"domains: expected indices in \[0, 2\)"):
        top(states, mask, torch.full((6,), 2))
    with pytest.raises(ValueError, match="domains: expected shape"):
        top.layer[0].intermediate.assignment = torch.zeros(2, dtype=torch.long)
        top.layer[0].intermediate(states)
    with pytest.raises(ValueError, match="already converted"):
        convert_to_domain_experts(top, 2)
    with pytest.raises(ValueError, match="n_top"):
        TopLayers(encoder, n_top=7)
    with pytest.raises(ValueError, match="n_experts"):
        convert_to_domain_experts(TopLayers(encoder), 0)
    with pytest.raises(TypeError, match="model: expected a BERT-family"):
        convert_to_domain_experts(torch.nn.Linear(2, 2), 2)
    with pytest.raises(ValueError, match="texts"):
        lower_states(encoder, [], cache_dir=None)
