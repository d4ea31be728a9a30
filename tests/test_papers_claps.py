"""CLAPS reproduction: the denoising pretraining pairs, the precondition logic with fabricated per-seed
numbers, and the quick (smoke) run."""

from __future__ import annotations

import pytest
import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.claps import reproduce as cp

J = [0.002, -0.003, 0.001, 0.0, -0.001, 0.003, 0.0005, -0.0025]


def test_denoising_pair_masks_and_keeps_the_original_target() -> None:
    g = torch.Generator().manual_seed(0)
    words = list(range(3, 23))
    src, tgt = cp.denoising_pair(words, mask_prob=0.3, mask_token=52, generator=g)
    assert tgt == words + [1] and len(src) == len(tgt) and src[-1] == 1
    masked = [i for i, t in enumerate(src[:-1]) if t == 52]
    assert masked and all(src[i] == words[i] for i in range(len(words)) if i not in masked)
    one, _ = cp.denoising_pair([7], mask_prob=0.01, mask_token=52, generator=g)
    assert one == [52, 1]  # at least one word is masked
    with pytest.raises(ValueError, match="mask_prob"):
        cp.denoising_pair(words, mask_prob=1.0, mask_token=52, generator=g)


def _rows(mle_clean: float, mle_noisy: float, claps_noisy: float) -> dict[str, dict[str, list[float]]]:
    return {"mle": {"clean_token_acc": [mle_clean + d for d in J], "noisy_token_acc": [mle_noisy + d for d in J]},
            "claps": {"clean_token_acc": [mle_clean + d for d in J[::-1]],
                      "noisy_token_acc": [claps_noisy + d for d in J[::-1]]}}


def test_untrained_baseline_gives_not_testable() -> None:
    cfg = load_recipe(cp.RECIPE)
    # a from-scratch model that never learned the task: not testable, whatever CLAPS does
    r = cp.decide(cfg, _rows(0.06, 0.05, 0.03), quick=False)
    assert r.outcome() == "not testable" and "PASSED" not in r.summary()


def test_pass_fail_and_underpowered() -> None:
    cfg = load_recipe(cp.RECIPE)
    assert cp.decide(cfg, _rows(0.97, 0.88, 0.90), quick=False).outcome() == "pass"
    assert cp.decide(cfg, _rows(0.97, 0.88, 0.86), quick=False).outcome() == "fail"
    noisy = {"mle": {"clean_token_acc": [0.97] * 8, "noisy_token_acc": [0.88 + 5 * d for d in J]},
             "claps": {"clean_token_acc": [0.97] * 8, "noisy_token_acc": [0.88 - 5 * d for d in J]}}
    r = cp.decide(cfg, noisy, quick=False)  # spread too large for a 1-point effect: not testable
    assert r.outcome() == "not testable"
    assert r.claims[1].precondition and not r.claims[1].passed


def test_quick_run_is_a_smoke_run() -> None:
    r = cp.reproduce(quick=True)
    assert r.outcome() == "smoke" and "smoke run: claims not evaluated" in r.summary()
    assert set(r.metrics["accuracy"]) == {"mle", "naive", "claps"}
