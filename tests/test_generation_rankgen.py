"""RankGen: loss == CE([P C^T | P G^T]), beam-search limits, padding-invariant first-token pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.generation._testing import tiny_gpt2
from contrastkit.generation.rankgen import (
    RankGenEncoder,
    nucleus_sample,
    over_generate_and_rerank,
    rankgen_beam_search,
    rankgen_loss,
)
from contrastkit.losses import InfoNCE


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_loss_equals_concatenated_cross_entropy() -> None:
    g = torch.Generator().manual_seed(0)
    P, C, G = (torch.randn(6, 8, generator=g, dtype=torch.float64) for _ in range(3))
    ref = F.cross_entropy(torch.cat([P @ C.T, P @ G.T], 1), torch.arange(6))
    core = InfoNCE(temperature=1.0, mode="a_to_b", similarity="dot")(P, C, negatives=G)
    assert float(core) == pytest.approx(float(ref), rel=1e-12)
    assert float(rankgen_loss(P, C, G)) == pytest.approx(float(ref), rel=1e-12)
    assert float(rankgen_loss(P, C)) == pytest.approx(float(F.cross_entropy(P @ C.T, torch.arange(6))), rel=1e-12)


def test_suffix_scores_invariant_to_batching_and_padding() -> None:
    torch.manual_seed(0)
    enc = RankGenEncoder(50, d_model=32, num_layers=2, num_heads=4, dim_feedforward=64).eval()
    prefix = torch.tensor([[1, 2, 3, 4, 5]])
    suffixes = [[7, 8, 9], [10, 11, 12, 13, 14, 15], [16]]
    width = 8
    ids = torch.zeros(3, width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(suffixes):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    with torch.no_grad():
        batched = enc.score(prefix, ids, mask)
        alone = torch.stack([enc.score(prefix, torch.tensor([s]))[0] for s in suffixes])
        left = torch.zeros_like(ids)
        left_mask = torch.zeros_like(ids)
        for i, s in enumerate(suffixes):
            left[i, width - len(s):] = torch.tensor(s)
            left_mask[i, width - len(s):] = 1
        left_scores = enc.score(prefix, left, left_mask)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(left_scores, alone, atol=1e-5, rtol=1e-5)
    # the markers matter: prefix and suffix encodings of the same ids differ
    assert not torch.allclose(enc.encode_prefix(prefix), enc.encode_suffix(prefix))


def test_beam_search_limits() -> None:
    model = tiny_gpt2(0, std=0.2)
    torch.manual_seed(0)
    enc = RankGenEncoder(101, d_model=32, num_layers=1, num_heads=4, dim_feedforward=64).eval()
    prefix = torch.tensor([[5, 6, 7, 8]])
    # N=1, B=1: plain nucleus sampling, chunked in L-token steps
    plain = nucleus_sample(model, prefix, 12, generator=torch.Generator().manual_seed(3))
    beam, _ = rankgen_beam_search(model, enc, prefix, num_samples=1, beam_size=1, step_len=5, max_new_tokens=12,
                                  generator=torch.Generator().manual_seed(3))
    assert beam.tolist() == plain.tolist()
    # N=20, B=1, L=max: over-generate-and-rerank
    best, samples, scores = over_generate_and_rerank(model, enc, prefix, num_samples=20, max_new_tokens=10,
                                                     generator=torch.Generator().manual_seed(4))
    beam, score = rankgen_beam_search(model, enc, prefix, num_samples=20, beam_size=1, step_len=10,
                                      max_new_tokens=10, generator=torch.Generator().manual_seed(4))
    assert beam.tolist() == best.tolist()
    assert float(score) == pytest.approx(float(scores.max()))
    assert len({tuple(s) for s in samples.tolist()}) > 1  # the samples differ, so the rerank choice is real


def test_beam_search_keeps_best_scoring() -> None:
    """With a scorer that counts token 42, beam search finds more 42s than a single sample."""
    model = tiny_gpt2(1, std=0.05)
    prefix = torch.tensor([[1, 2]])

    def scorer(_: torch.Tensor, conts: torch.Tensor) -> torch.Tensor:
        return (conts < 20).sum(1).float()

    single = nucleus_sample(model, prefix, 12, generator=torch.Generator().manual_seed(0))
    beam, score = rankgen_beam_search(model, scorer, prefix, num_samples=8, beam_size=2, step_len=4,
                                      max_new_tokens=12, generator=torch.Generator().manual_seed(0))
    assert beam.shape == (1, 12)
    assert float(score) == float((beam < 20).sum())
    assert float(score) > float((single < 20).sum())


def test_errors() -> None:
    model = tiny_gpt2(0)
    with pytest.raises(ValueError, match="top_p"):
        nucleus_sample(model, torch.tensor([[1]]), 2, top_p=0.0)
    with pytest.raises(ValueError, match="prefix_ids"):
        over_generate_and_rerank(model, lambda p, c: c.sum(1).float(), torch.tensor([[1], [2]]))
    with pytest.raises(ValueError, match="beam_size"):
        rankgen_beam_search(model, lambda p, c: c.sum(1).float(), torch.tensor([[1]]), beam_size=0)
    enc = RankGenEncoder(10, d_model=8, num_heads=2, max_len=4)
    with pytest.raises(ValueError, match="max_len"):
        enc.encode_prefix(torch.ones(1, 6, dtype=torch.long))
