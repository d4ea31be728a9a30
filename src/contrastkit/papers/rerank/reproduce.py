"""SFT vs contrastive reranking (Dai, Zhang et al., 2025, "Supervised Fine-Tuning or Contrastive Learning?
Towards Better Multimodal LLM Reranking") in miniature.

Per seed, one tiny GPT-2 initialisation (from its config, no download) is trained four times on the planted
retrieval set (:mod:`contrastkit.papers.rerank.data`), once per weight x direction combination of the
unified reranking loss (:class:`contrastkit.generation.rerank.RerankLoss`; ``(sft, sft)`` is the SFT loss,
``(cl, cl)`` the listwise InfoNCE through the core's grouped-candidate path), with the same batch order.
Each arm ranks the test groups by the score its direction trains (``D_CL``: the "yes" logit ``s_y``;
``D_SFT``: ``s_y - s_n``, the SFT score's logit); MRR and NDCG@5 come from
:func:`contrastkit.evaluate.ranking_metrics` (one relevant document per group, ties against it).

Claims (paired over seeds): the SFT-weight arms beat the CL-weight arms on MRR and on NDCG@5; the two
directions are equivalent within a stated MRR margin. Precondition: every arm learns (beats the untrained
LM's order). Settings: ``papers/rerank/recipe.yaml``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.papers._claims import gate, main, mean_precondition, paired, power_precondition
from contrastkit.papers._schema import load_paper_recipe
from contrastkit.papers.rerank.schema import (
    RerankRecipe,
)
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def load(quick: bool = False, path: str | Path | None = None) -> RerankRecipe:
    """``papers/rerank/recipe.yaml`` (or ``path``), validated strictly; the arms must be the four
    weight x direction combinations."""
    from contrastkit.generation.rerank import OBJECTIVES

    r = load_paper_recipe("rerank", RerankRecipe, quick=quick, path=path)
    for name, arm in r.arms.items():
        for key in ("weight", "direction"):
            if getattr(arm, key) not in OBJECTIVES:
                raise ValueError(f"arms.{name}.{key}: expected one of {OBJECTIVES}, got {getattr(arm, key)!r}")
    combos = {(a.weight, a.direction) for a in r.arms.values()}
    if len(combos) != 4:
        raise ValueError(f"arms: expected the four weight x direction combinations, got {sorted(combos)}")
    if r.evaluation.ndcg_k > r.data.k:
        raise ValueError(f"evaluation.ndcg_k: expected <= data.k = {r.data.k}, got {r.evaluation.ndcg_k}")
    return r


def retrieval_data(r: RerankRecipe) -> Any:
    """The recipe's retrieval set (the quick run's fallback corpus when Debian fortunes are absent)."""
    from contrastkit.papers.rerank.data import build
    from contrastkit.text import corpora

    d = r.data
    corpus = d.corpus
    if corpus == "fortunes" and d.fallback_corpus and not corpora.fortunes_available():
        corpus = d.fallback_corpus
    return build(corpus=corpus, n_docs=d.n_docs, max_doc_words=d.max_doc_words, query_words=d.query_words, k=d.k,
                 hard_shared=list(d.hard_shared), test_fraction=d.test_fraction, seed=d.seed,
                 max_length=d.max_length)


def _reranker(r: RerankRecipe, data: Any, seed: int) -> Any:
    from contrastkit.generation.rerank import YesNoReranker
    from contrastkit.papers._generation import _gpt2

    m = r.model
    lm = _gpt2(len(data.vocab), seed, n_positions=m.n_positions, n_embd=m.n_embd, n_layer=m.n_layer, n_head=m.n_head)
    if m.embedding_std is not None:
        # GPT-2's 0.02 init leaves identical-token dot products (the matching signal) near zero; a larger
        # scale for the (tied) token embeddings is what lets the tiny LM learn to match within the budget
        torch.nn.init.normal_(lm.get_input_embeddings().weight, std=m.embedding_std,
                              generator=torch.Generator().manual_seed(40_000 + seed))
    return YesNoReranker(lm, data.yes_id, data.no_id)


@torch.no_grad()
def group_scores(model: Any, split: Any, chunk: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """``(s_y, s_n)`` ``(N, K)`` of every group of ``split``."""
    model.eval()
    ys, ns = [], []
    for i in range(0, split.input_ids.shape[0], chunk):
        s_y, s_n = model(split.input_ids[i:i + chunk], split.attention_mask[i:i + chunk])
        ys.append(s_y)
        ns.append(s_n)
    return torch.cat(ys).double(), torch.cat(ns).double()


def arm_score(s_y: torch.Tensor, s_n: torch.Tensor, direction: str) -> torch.Tensor:
    """The ranking score a direction trains: ``s_y`` (CL) or ``s_y - s_n`` (SFT)."""
    return s_y if direction == "cl" else s_y - s_n


def train_arm(r: RerankRecipe, data: Any, seed: int, weight: str, direction: str) -> Any:
    """One reranker trained with ``RerankLoss(weight, direction)``; the batch order depends on ``seed`` only."""
    from contrastkit.generation.rerank import RerankLoss

    model = _reranker(r, data, seed).train()
    loss_fn = RerankLoss(weight, direction)
    t = r.trainer
    opt = torch.optim.AdamW(model.parameters(), lr=t.lr)
    tr = data.train
    g = torch.Generator().manual_seed(30_000 + seed)
    n = tr.input_ids.shape[0]
    for _ in range(t.steps):
        idx = torch.randperm(n, generator=g)[: t.batch_groups]
        h = model.hidden(tr.input_ids[idx], tr.attention_mask[idx])
        w_yes, w_no = model.heads()
        loss = loss_fn(h, w_yes, w_no, positive_index=tr.positive_index[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def run_seed(r: RerankRecipe, data: Any, seed: int) -> dict[str, float]:
    """Per-seed test MRR / NDCG@k of every arm, of the untrained LM (both scoring rules) and of the lexical
    overlap reference."""
    from contrastkit.evaluate import ranking_metrics

    k = r.evaluation.ndcg_k
    te = data.test

    def metrics(scores: torch.Tensor) -> dict[str, float]:
        m = ranking_metrics(scores, te.positive_index, k=k)
        return {"MRR": m["MRR"], f"NDCG@{k}": m[f"NDCG@{k}"]}

    row: dict[str, float] = {}
    s_y, s_n = group_scores(_reranker(r, data, seed), te)
    for direction in ("cl", "sft"):
        for key, v in metrics(arm_score(s_y, s_n, direction)).items():
            row[f"untrained_{direction}/{key}"] = v
    for key, v in metrics(te.overlap).items():
        row[f"lexical/{key}"] = v
    for name, arm in r.arms.items():
        model = train_arm(r, data, seed, arm.weight, arm.direction)
        for key, v in metrics(arm_score(*group_scores(model, te), arm.direction)).items():
            row[f"{name}/{key}"] = v
    return row


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """The four weight x direction arms over the recipe's seeds, then :func:`decide` (module doc)."""
    t0, c0 = time.perf_counter(), time.process_time()
    torch.set_num_threads(1)
    r = load(quick)
    seeds = list(r.seeds if seeds is None else seeds)
    data = retrieval_data(r)
    per: dict[str, list[float]] = {}
    for seed in seeds:
        for key, v in run_seed(r, data, seed).items():
            per.setdefault(key, []).append(v)
    info = {"corpus": data.corpus, "train_queries": int(data.train.input_ids.shape[0]),
            "test_queries": int(data.test.input_ids.shape[0]), "vocab": len(data.vocab), "seeds": seeds,
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
    return decide(r, per, quick, info)


def _mean_of(per: dict[str, list[float]], names: list[str], key: str) -> list[float]:
    return [sum(per[f"{n}/{key}"][s] for n in names) / len(names) for s in range(len(per[f"{names[0]}/{key}"]))]


def decide(r: RerankRecipe, per: dict[str, list[float]], quick: bool,
           info: dict[str, Any] | None = None) -> ReproResult:
    """The claims from per-seed values ``per["<arm>/MRR"]``, ``per["<arm>/NDCG@k"]`` and
    ``per["untrained_<direction>/MRR"]`` (one value per seed, same seed order)."""
    c, k = r.claims, r.evaluation.ndcg_k
    arms = r.arms
    by_weight = {w: [n for n, a in arms.items() if a.weight == w] for w in ("sft", "cl")}
    by_direction = {d: [n for n, a in arms.items() if a.direction == d] for d in ("sft", "cl")}
    untrained = [max(a, b) for a, b in zip(per["untrained_cl/MRR"], per["untrained_sft/MRR"], strict=True)]
    gains = [min(per[f"{n}/MRR"][s] for n in arms) - untrained[s] for s in range(len(untrained))]
    claims = [mean_precondition("every arm beats the untrained LM's order on test MRR (the rerankers learn)", gains,
                                c.learns.min_gain, "worst arm's MRR gain over the untrained LM", digits=3)]
    spec = c.weight.model_dump()
    for key in ("MRR", f"NDCG@{k}"):
        sft, cl = _mean_of(per, by_weight["sft"], key), _mean_of(per, by_weight["cl"], key)
        test = paired(sft, cl, spec)
        name = f"SFT-weight arms beat CL-weight arms on {key}"
        claims.append(power_precondition(f"SFT vs CL weight ({key})", test, c.weight.effect_of_interest, guards=name))
        arms_note = ", ".join(f"{n} {fmt(per[f'{n}/{key}'], digits=3)}" for n in arms)
        claims.append(Claim.from_test(name, test, note=f"SFT weight {fmt(sft, digits=3)} vs CL weight "
                                                       f"{fmt(cl, digits=3)} ({arms_note})"))
    d_sft, d_cl = _mean_of(per, by_direction["sft"], "MRR"), _mean_of(per, by_direction["cl"], "MRR")
    eq = c.direction.equivalence
    dspec = {"margin": -eq, "alpha": c.direction.alpha, "power": c.direction.power}
    up, down = paired(d_sft, d_cl, dspec), paired(d_cl, d_sft, dspec)
    name = f"the direction matters little (SFT vs CL direction within +-{eq} MRR)"
    claims.append(power_precondition("SFT vs CL direction (MRR)", up, eq, guards=name))
    claims.append(Claim(name, up.holds and down.holds,
                        f"SFT direction {fmt(d_sft, digits=3)} vs CL direction {fmt(d_cl, digits=3)}: "
                        f"{up.describe()}; both one-sided tests against -{eq} "
                        f"({'hold' if up.holds and down.holds else 'do not both hold'}: p = {up.p_value:.3g}, "
                        f"{down.p_value:.3g})", test=up))
    metrics: dict[str, Any] = dict(info or {})
    for key, vals in per.items():
        metrics[key] = {"values": vals, "mean±std": fmt(vals, digits=3)}
    return ReproResult("rerank", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
