"""Reproduction of Contrastive Learning with Adversarial Perturbations for Conditional Text Generation (Lee et al.,
ICLR 2021): noisy-source accuracy ≥ MLE.

Settings: ``papers/claps/recipe.yaml``; measured figures: ``docs/generation.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import Field

from contrastkit.papers._generation import _metrics, _pad, _run_seeds, mapping_pairs
from contrastkit.papers._schema import (
    FiniteFloat,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Section,
    load_paper_recipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def _seq2seq_eval(model: torch.nn.Module, srcs: list[list[int]], tgts: list[list[int]]) -> tuple[float, float]:
    """Greedy decoding (``contrastive_search`` with k = 1): ``(token accuracy, exact match)``."""
    from contrastkit.generation.contrastive_search import contrastive_search

    ids, mask = _pad(srcs)
    out = contrastive_search(model, ids, mask, top_k=1, penalty_alpha=0.0,
                             max_new_tokens=max(len(t) for t in tgts), eos_token_id=1, pad_token_id=0)[:, 1:]
    correct = total = exact = 0
    for row, tgt in zip(out.tolist(), tgts, strict=True):
        row = row + [0] * max(0, len(tgt) - len(row))
        hits = sum(int(a == b) for a, b in zip(row, tgt, strict=False))
        correct += hits
        total += len(tgt)
        exact += int(hits == len(tgt))
    return correct / total, exact / len(tgts)


class Data(Section):
    n_train: PositiveInt
    n_test: PositiveInt
    test_seed_offset: int = Field(strict=True)
    noise: FiniteFloat = Field(ge=0, le=1)


class Model(Section):
    vocab_size: PositiveInt
    d_model: PositiveInt
    d_kv: PositiveInt
    d_ff: PositiveInt
    num_layers: PositiveInt
    num_decoder_layers: PositiveInt
    num_heads: PositiveInt


class Trainer(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class Arm(Section):
    mode: Literal["mle", "naive", "claps"]


class Method(Section):
    tau: PositiveFloat
    eps_pos: FiniteFloat
    eps_neg: FiniteFloat


class CLAPSRecipe(PaperRecipe):
    """``papers/claps/recipe.yaml``."""

    data: Data
    model: Model
    trainer: Trainer
    arms: dict[str, Arm]
    method: Method


def load(quick: bool = False) -> CLAPSRecipe:
    return load_paper_recipe("claps", CLAPSRecipe, quick=quick)


def _claps_seed(seed: int, quick: bool) -> dict[str, float]:
    from transformers import T5Config, T5ForConditionalGeneration

    from contrastkit.generation.claps import CLAPS

    c0 = time.process_time()
    r = load(quick)
    d, tr, m = r.data, r.trainer, r.method
    srcs, tgts = mapping_pairs(d.n_train, seed=seed)
    clean = mapping_pairs(d.n_test, seed=seed + d.test_seed_offset)
    noisy = mapping_pairs(d.n_test, seed=seed + d.test_seed_offset, noise=d.noise)
    row: dict[str, float] = {}
    for arm in r.arms.values():
        mode = arm.mode
        torch.manual_seed(seed)
        t5 = T5ForConditionalGeneration(T5Config(**r.model.model_dump(), dropout_rate=0.0, decoder_start_token_id=0,
                                                 pad_token_id=0, eos_token_id=1))
        model = CLAPS(t5, mode=mode, tau=m.tau, eps_pos=m.eps_pos, eps_neg=m.eps_neg).train()
        opt = torch.optim.AdamW(model.parameters(), lr=tr.lr)
        g = torch.Generator().manual_seed(seed + 1)
        for _ in range(tr.steps):
            idx = torch.randint(0, d.n_train, (tr.batch_size,), generator=g).tolist()
            x, xm = _pad([srcs[i] for i in idx])
            y, ym = _pad([tgts[i] for i in idx])
            loss = model(x, xm, y.masked_fill(ym == 0, -100))["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        t5.eval()
        for split, (s, t) in (("clean", clean), ("noisy", noisy)):
            acc, em = _seq2seq_eval(t5, s, t)
            row[f"{mode}_{split}_token_acc"] = acc
            row[f"{mode}_{split}_exact"] = em
    row["_cpu_seconds"] = time.process_time() - c0
    return row


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, processes: int = 1) -> ReproResult:
    """CLAPS (Lee et al., ICLR 2021) in miniature on the synthetic seq2seq mapping task.

    ``T5(vocab 64, d_model 64, d_ff 128, 2+2 layers, 4 heads)``, 1000 AdamW steps (lr 3e-3, batch 64;
    quick: 40 steps; the design's 400 steps at lr 1e-3 left MLE at 17% token accuracy, an untrained model),
    trained with MLE, MLE + naive in-batch contrastive, and CLAPS (eps_pos 3,
    eps_neg 1, tau 0.1). Greedy-decoding token accuracy and exact match on 300 clean and 300 noisy
    (10% source-token substitution, clean targets) test pairs.
    Claim (paper: CLAPS > MLE): CLAPS token accuracy on noisy sources >= MLE's, on the seed mean.
    """
    t0 = time.perf_counter()
    seeds = list(load(quick).seeds if seeds is None else seeds)  # papers/claps/recipe.yaml
    seeds = seeds[:1] if quick else seeds
    per, cpu = _run_seeds(_claps_seed, seeds, quick, processes)
    mean = {k: sum(v) / len(v) for k, v in per.items()}
    claims = [
        Claim("claps_noisy_acc_ge_mle", mean["claps_noisy_token_acc"] >= mean["mle_noisy_token_acc"],
              f"noisy-source token acc CLAPS {fmt(per['claps_noisy_token_acc'], digits=3)} vs MLE "
              f"{fmt(per['mle_noisy_token_acc'], digits=3)} (naive {fmt(per['naive_noisy_token_acc'], digits=3)})",
              gating=not quick),
        Claim("claps_clean_acc_ge_mle", mean["claps_clean_token_acc"] >= mean["mle_clean_token_acc"],
              f"clean token acc CLAPS {fmt(per['claps_clean_token_acc'], digits=3)} vs MLE "
              f"{fmt(per['mle_clean_token_acc'], digits=3)}", gating=False),
    ]
    return ReproResult("claps", claims, _metrics(per, t0, cpu, seeds), quick=quick)

