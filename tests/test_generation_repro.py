"""Quick smoke runs of the generation reproductions (1 seed, tiny budgets; claims are not gating)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.reproduce import generation as G
from contrastkit.reproduce.result import ReproResult


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_markov_language_is_order2_and_topic_biased() -> None:
    table = G.markov_table(vocab=50, seed=0)
    docs, topic = G.markov_documents(200, 30, table, seed=1, topics=4, topic_bias=5.0)
    nxt = table[0]
    for d in docs[:20]:
        for t in range(2, 30):
            assert int(d[t]) in nxt[d[t - 2], d[t - 1]].tolist()
    on_topic = (docs[:, 2:] % 4 == topic[:, None]).float().mean()
    assert on_topic > 0.4  # x5 topic bias: well above the 0.25 of no topic


def test_mapping_task_definition() -> None:
    srcs, tgts = G.mapping_pairs(5, seed=0)
    for s, t in zip(srcs, tgts, strict=True):
        words = [v - 3 for v in s[:-1]]
        mapped = [3 + (w * 7 + 5) % 40 for w in words]
        for i in range(0, len(words) - 1, 2):
            mapped[i], mapped[i + 1] = mapped[i + 1], mapped[i]
        assert t == mapped + [44 + len(words) % 8, 1]
    noisy, same = G.mapping_pairs(200, seed=0, noise=0.1)
    clean, _ = G.mapping_pairs(200, seed=0)
    assert same == G.mapping_pairs(200, seed=0)[1]
    changed = sum(a != b for n, c in zip(noisy, clean, strict=True) for a, b in zip(n, c, strict=True))
    assert 0.05 < changed / sum(len(c) for c in clean) < 0.15


@pytest.mark.parametrize("name", ["simctg", "rankgen", "claps"])
def test_quick_reproduction_runs(name: str) -> None:
    result = getattr(G, name)(quick=True)
    assert isinstance(result, ReproResult)
    assert result.quick and result.claims
    assert all(not c.gating for c in result.claims)
    # quick budget: < 60 s of CPU time (wall time depends on the load of the shared machine)
    assert result.metrics["cpu_seconds"] < 60
    assert result.passed()  # quick claims are not gating


def test_registry_names() -> None:
    from contrastkit.reproduce import get_reproduction

    for name in ("simctg", "rankgen", "claps"):
        assert get_reproduction(name) is getattr(G, name)
