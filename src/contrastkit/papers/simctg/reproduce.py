"""Reproduction of A Contrastive Framework for Neural Text Generation (Su et al., NeurIPS 2022): SimCTG more isotropic;
contrastive search lowers rep-n.

Settings: ``papers/simctg/recipe.yaml``; measured figures: ``docs/generation.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pydantic import Field

from contrastkit.papers._generation import (
    _claim,
    _metrics,
    _run_seeds,
    _texts,
    _train_lm,
    markov_documents,
    markov_table,
)
from contrastkit.papers._schema import (
    FiniteFloat,
    PaperRecipe,
    PositiveFloat,
    PositiveInt,
    Section,
    load_paper_recipe,
)
from contrastkit.reproduce.result import ReproResult, fmt


class Data(Section):
    vocab: PositiveInt
    successors: PositiveInt
    doc_length: PositiveInt
    n_docs: PositiveInt
    n_held: PositiveInt
    held_seed_offset: int = Field(strict=True)
    n_prompts: PositiveInt
    prompt_length: PositiveInt


class Model(Section):
    n_positions: PositiveInt
    n_embd: PositiveInt
    n_layer: PositiveInt
    n_head: PositiveInt


class Trainer(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat


class Arm(Section):
    margin: PositiveFloat | None


class Decoding(Section):
    new_tokens: PositiveInt
    top_k: PositiveInt
    penalty_alpha: FiniteFloat


class SimCTGRecipe(PaperRecipe):
    """``papers/simctg/recipe.yaml``."""

    data: Data
    model: Model
    trainer: Trainer
    arms: dict[str, Arm]
    decoding: Decoding


def load(quick: bool = False) -> SimCTGRecipe:
    return load_paper_recipe("simctg", SimCTGRecipe, quick=quick)


def _simctg_seed(seed: int, quick: bool) -> dict[str, float]:
    from contrastkit.generation.contrastive_search import contrastive_search
    from contrastkit.generation.metrics import model_isotropy, repetition_stats

    c0 = time.process_time()
    r = load(quick)
    d, tr, dec = r.data, r.trainer, r.decoding
    table = markov_table(d.vocab, d.successors, seed=seed)
    docs, _ = markov_documents(d.n_docs, d.doc_length, table, seed=seed)
    held, _ = markov_documents(d.n_held, d.doc_length, table, seed=seed + d.held_seed_offset)
    prompts = held[:d.n_prompts, :d.prompt_length]
    row: dict[str, float] = {}
    for name, arm in r.arms.items():
        model = _train_lm(docs, seed=seed, steps=tr.steps, simctg_margin=arm.margin, batch=tr.batch_size, lr=tr.lr,
                          vocab=d.vocab, model_kwargs=r.model.model_dump())
        row[f"{name}_isotropy"] = model_isotropy(model, held)
        greedy = contrastive_search(model, prompts, top_k=1, max_new_tokens=dec.new_tokens, eos_token_id=[])
        cs = contrastive_search(model, prompts, top_k=dec.top_k, penalty_alpha=dec.penalty_alpha,
                                max_new_tokens=dec.new_tokens, eos_token_id=[])
        for name_dec, ids in (("greedy", greedy), ("contrastive", cs)):
            for key, v in repetition_stats(_texts(ids[:, d.prompt_length:])).items():
                row[f"{name}_{name_dec}_{key}"] = v
    row["_cpu_seconds"] = time.process_time() - c0
    return row


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, processes: int = 1) -> ReproResult:
    """SimCTG (Su et al., NeurIPS 2022) in miniature on the order-2 Markov language.

    Per seed: a tiny GPT-2 trained with MLE and one with SimCTG (rho 0.5), 2000 documents of 48
    tokens, 250 AdamW steps (quick: 40 steps, 1 seed). Measured: token isotropy
    ``1 - mean cos(h_i, h_j)`` on 64 held-out documents, and rep-2/3/4 of greedy vs contrastive
    search (k 4, alpha 0.6) continuations (40 tokens) of 20 held-out 8-token prompts.
    Claims: SimCTG is more isotropic than MLE; contrastive search has lower rep-2 than greedy
    (for both models). ``processes > 1`` runs the seeds in parallel worker processes. Settings:
    ``papers/simctg/recipe.yaml`` (``seeds=None``: the recipe's).
    """
    t0 = time.perf_counter()
    seeds = list(load(quick).seeds if seeds is None else seeds)
    seeds = seeds[:1] if quick else seeds
    per, cpu = _run_seeds(_simctg_seed, seeds, quick, processes)
    iso_ok = [a > b for a, b in zip(per["simctg_isotropy"], per["mle_isotropy"], strict=True)]
    cs_ok = [all(per[f"{m}_contrastive_rep-2"][i] < per[f"{m}_greedy_rep-2"][i] for m in ("mle", "simctg"))
             for i in range(len(seeds))]
    claims = [
        _claim("simctg_more_isotropic", iso_ok,
               f"isotropy SimCTG {fmt(per['simctg_isotropy'], digits=3)} vs MLE {fmt(per['mle_isotropy'], digits=3)}",
               quick),
        _claim("contrastive_search_lowers_rep2", cs_ok,
               f"rep-2 MLE greedy {fmt(per['mle_greedy_rep-2'])} -> CS {fmt(per['mle_contrastive_rep-2'])}; "
               f"SimCTG greedy {fmt(per['simctg_greedy_rep-2'])} -> CS {fmt(per['simctg_contrastive_rep-2'])}",
               quick),
    ]
    return ReproResult("simctg", claims, _metrics(per, t0, cpu, seeds), quick=quick)

