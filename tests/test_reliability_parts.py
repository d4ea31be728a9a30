"""Reliability catalogue, group "parts": GradCache module state, contrastive search with few allowed
tokens, kNN top-5 with the weighted vote. Each case has an independent reference (a plain chunked
forward, the allowed-token set, a naive per-sample loop)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.evaluate import knn_accuracy
from contrastkit.losses import InfoNCE
from contrastkit.methods.gradcache import GradCache

# ---------------------------------------------------------------- GradCache state


def _bn_encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.Dropout(0.2), nn.Tanh(), nn.Linear(12, 4)).double()


class _CountingQueue(nn.Module):
    """A module whose forward replaces a buffer (like a MoCo queue rebuilt with torch.cat)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 4).double()
        self.register_buffer("seen", torch.zeros(0, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen = torch.cat([self.seen, x[:, 0].detach()])
        return self.lin(x)


def _reference_chunked(encoder: nn.Module, inputs: list[torch.Tensor], chunk: int) -> torch.Tensor:
    embs = [torch.cat([encoder(x[i:i + chunk]) for i in range(0, len(x), chunk)]) for x in inputs]
    loss = InfoNCE(0.5)(*embs)
    loss.backward()
    return loss.detach()


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


GRADCACHE_CASES = [
    # (name, encoder factory, how the encoder is passed)
    ("batchnorm-module", lambda: _bn_encoder(0), "module"),
    ("batchnorm-lambda-with-stateful_modules", lambda: _bn_encoder(1), "lambda"),
    ("buffer-replaced-in-forward", lambda: _CountingQueue(), "module"),
]


@pytest.mark.parametrize(("name", "factory", "how"), GRADCACHE_CASES, ids=[c[0] for c in GRADCACHE_CASES])
def test_gradcache_updates_module_state_once(name, factory, how):
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(10, 6, generator=g, dtype=torch.float64), torch.randn(10, 6, generator=g, dtype=torch.float64)
    ref, cached = factory(), factory()
    cached.load_state_dict(ref.state_dict())
    torch.manual_seed(5)
    ref_loss = _reference_chunked(ref, [x1, x2], 4)
    torch.manual_seed(5)
    if how == "module":
        loss = GradCache(cached, InfoNCE(0.5), chunk_size=4)(x1, x2)
    else:
        loss = GradCache(lambda x: cached(x), InfoNCE(0.5), chunk_size=4, stateful_modules=[cached])(x1, x2)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    want, got = _state(ref), _state(cached)
    assert want.keys() == got.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-12, atol=1e-12, msg=key)
    for p_ref, p in zip(ref.parameters(), cached.parameters(), strict=True):
        torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-10, atol=1e-12)
    if "batchnorm" in name:  # 2 inputs x 3 chunks: six updates, as one chunked forward makes
        assert int(got["1.num_batches_tracked"]) == 6


# ---------------------------------------------------------------- contrastive search


def _allow_only(allowed: list[int]):
    def processor(ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        mask = torch.full_like(logits, float("-inf"))
        mask[:, allowed] = 0.0
        return logits + mask

    return processor


CS_CASES = [(seed, alpha, allowed) for seed in (0, 1, 2) for alpha in (0.6, 0.9, 0.99) for allowed in ([5, 17],)]


@pytest.mark.parametrize(("seed", "alpha", "allowed"), CS_CASES)
def test_contrastive_search_never_emits_a_forbidden_token(seed, alpha, allowed):
    pytest.importorskip("transformers")
    from contrastkit.generation import contrastive_search
    from contrastkit.generation._testing import tiny_gpt2

    model = tiny_gpt2(seed, std=0.3)
    prompt = torch.tensor([[3, 9, 27, 4], [8, 1, 60, 2]])
    out = contrastive_search(model, prompt, top_k=6, penalty_alpha=alpha, max_new_tokens=12, eos_token_id=[],
                             logits_processor=_allow_only(allowed))
    new = out[:, prompt.shape[1]:]
    assert set(new.flatten().tolist()) <= set(allowed), new


@pytest.mark.parametrize("alpha", [0.0, 0.9])
def test_contrastive_search_refuses_a_processor_that_forbids_every_token(alpha):
    # Every score -inf gives NaN probabilities: the previous code emitted an arbitrary token.
    pytest.importorskip("transformers")
    from contrastkit.generation import contrastive_search
    from contrastkit.generation._testing import tiny_gpt2

    model = tiny_gpt2(0, std=0.3)
    with pytest.raises(ValueError, match=r"^logits_processor: left no token allowed .* row 0 at generation step 0$"):
        contrastive_search(model, torch.tensor([[3, 9, 27, 4]]), top_k=4, penalty_alpha=alpha, max_new_tokens=3,
                           eos_token_id=[], logits_processor=_allow_only([]))


# ---------------------------------------------------------------- kNN top-5


def _naive_knn(train, ytr, test, yte, k, tau, t):
    """Per-sample loop of the DINO weighted vote; a class with zero score never counts as a hit."""
    train = train / train.norm(dim=1, keepdim=True)
    test = test / test.norm(dim=1, keepdim=True)
    hits = 0
    for q, y in zip(test.tolist(), yte.tolist(), strict=True):
        sims = [sum(a * b for a, b in zip(q, x, strict=True)) for x in train.tolist()]
        nearest = sorted(range(len(sims)), key=lambda i: -sims[i])[:k]
        scores: dict[int, float] = {}
        for i in nearest:
            scores[int(ytr[i])] = scores.get(int(ytr[i]), 0.0) + math.exp(sims[i] / tau)
        ranked = sorted(scores, key=lambda c: (-scores[c], c))[:t]
        hits += int(y in ranked)
    return hits / len(yte)


KNN_CASES = [(seed, k, t) for seed in (0, 1) for k in (1, 3, 20) for t in (1, 5)]


@pytest.mark.parametrize(("seed", "k", "t"), KNN_CASES)
def test_knn_topk_matches_naive_loop(seed, k, t):
    g = torch.Generator().manual_seed(seed)
    train = torch.randn(60, 5, generator=g, dtype=torch.float64)
    test = torch.randn(25, 5, generator=g, dtype=torch.float64)
    ytr, yte = torch.randint(0, 8, (60,), generator=g), torch.randint(0, 8, (25,), generator=g)
    got = knn_accuracy(train, ytr, test, yte, k=k, temperature=0.5, topk=t, chunk_size=7)
    assert got == pytest.approx(_naive_knn(train, ytr, test, yte, k, 0.5, t), abs=1e-12)


def test_knn_top5_zero_score_class_is_not_a_hit():
    # one neighbour (k=1) votes: only its class has a positive score; the true class 2 has zero
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    ytr = torch.tensor([0, 1, 2])
    test = torch.tensor([[1.0, 0.1]])
    assert knn_accuracy(train, ytr, test, torch.tensor([2]), k=1, topk=5) == 0.0
    assert knn_accuracy(train, ytr, test, torch.tensor([0]), k=1, topk=5) == 1.0
    with pytest.raises(ValueError, match="topk"):
        knn_accuracy(train, ytr, test, torch.tensor([0]), topk=0)
