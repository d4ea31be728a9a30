"""Reproduction of A Contrastive Framework for Neural Text Generation (Su et al., NeurIPS 2022): SimCTG more isotropic;
contrastive search lowers rep-n.

Measured figures: ``docs/generation.md``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from contrastkit.papers._generation import (
    _claim,
    _metrics,
    _run_seeds,
    _texts,
    _train_lm,
    markov_documents,
    markov_table,
)
from contrastkit.reproduce.result import ReproResult, fmt


def _simctg_seed(seed: int, quick: bool) -> dict[str, float]:
    from contrastkit.generation.contrastive_search import contrastive_search
    from contrastkit.generation.metrics import model_isotropy, repetition_stats

    c0 = time.process_time()
    steps, n_docs, n_prompts, new = (40, 400, 10, 24) if quick else (250, 2000, 20, 40)
    table = markov_table(seed=seed)
    docs, _ = markov_documents(n_docs, 48, table, seed=seed)
    held, _ = markov_documents(64, 48, table, seed=seed + 500)
    prompts = held[:n_prompts, :8]
    row: dict[str, float] = {}
    for name, margin in (("mle", None), ("simctg", 0.5)):
        model = _train_lm(docs, seed=seed, steps=steps, simctg_margin=margin)
        row[f"{name}_isotropy"] = model_isotropy(model, held)
        greedy = contrastive_search(model, prompts, top_k=1, max_new_tokens=new, eos_token_id=[])
        cs = contrastive_search(model, prompts, top_k=4, penalty_alpha=0.6, max_new_tokens=new, eos_token_id=[])
        for dec, ids in (("greedy", greedy), ("contrastive", cs)):
            for key, v in repetition_stats(_texts(ids[:, 8:])).items():
                row[f"{name}_{dec}_{key}"] = v
    row["_cpu_seconds"] = time.process_time() - c0
    return row


def reproduce(quick: bool = False, seeds: Sequence[int] = (0, 1, 2), processes: int = 1) -> ReproResult:
    """SimCTG (Su et al., NeurIPS 2022) in miniature on the order-2 Markov language (notes §15.3).

    Per seed: a tiny GPT-2 trained with MLE and one with SimCTG (rho 0.5), 2000 documents of 48
    tokens, 250 AdamW steps (quick: 40 steps, 1 seed). Measured: token isotropy
    ``1 - mean cos(h_i, h_j)`` on 64 held-out documents, and rep-2/3/4 of greedy vs contrastive
    search (k 4, alpha 0.6) continuations (40 tokens) of 20 held-out 8-token prompts.
    Claims: SimCTG is more isotropic than MLE; contrastive search has lower rep-2 than greedy
    (for both models). ``processes > 1`` runs the seeds in parallel worker processes.
    """
    t0 = time.perf_counter()
    seeds = [seeds[0]] if quick else list(seeds)
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

