"""SPACE-2 (He et al., COLING 2022, "SPACE-2: Tree-Structured Semi-Supervised Contrastive Pre-training for
Task-Oriented Dialog Understanding") in miniature on the offline TOD utterance set (:mod:`contrastkit.text.dialogue`).

Per seed (fillers and the labeled subset redrawn, template split fixed): the top layer of all-MiniLM-L6-v2
(lower layers frozen, states cached) + a projection head is trained with dropout views by three arms from the same
start and with the same batches: SimCLR on every utterance; hard SupCon (positives = exact tree match) on the
labeled ones + SimCLR on the unlabeled; SPACE-2's tree-soft SupCon (positives weighted by the hierarchical set
score, a tile callable) + SimCLR on the unlabeled (:class:`~contrastkit.papers.space2.module.TreeSemiSupervised`).
Evaluation on the held-out templates, pooled features: 10-shot prototype macro-F1 over the 12 acts, and Spearman
between feature cosine and tree score over all held-out pairs. Precondition: hard SupCon learns (F1 above the
off-the-shelf MiniLM). Claims: SPACE-2 > hard and hard > SimCLR on both metrics (paired over seeds, each with
its power precondition). Settings: ``recipe.yaml``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.papers._claims import gate, main, paired
from contrastkit.papers._dialogue import (
    comparison_claims,
    encoder_and_states,
    head,
    label_ids,
    metric_table,
    pooled,
    utterance_sets,
)
from contrastkit.papers._schema import load_paper_recipe
from contrastkit.papers.space2.schema import Space2Recipe
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")
METRICS = ("f1", "tree_spearman")




def load(quick: bool = False, path: str | Path | None = None) -> Space2Recipe:
    return load_paper_recipe("space2", Space2Recipe, quick=quick, path=path)


def labeled_split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(labeled rows, unlabeled rows)``: ``round(fraction * n)`` rows drawn with ``seed``, sorted."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(20_000 + seed))
    k = max(2, round(fraction * n))
    return perm[:k].sort().values, perm[k:].sort().values


def measure(emb: torch.Tensor, labels: torch.Tensor, tree_matrix: torch.Tensor, r: Space2Recipe,
            seed: int) -> dict[str, float]:
    """10-shot prototype F1 over the acts and the feature-cosine vs tree-score Spearman of pooled ``emb``."""
    from contrastkit.evaluate import few_shot_prototype_f1, similarity_matrix_spearman

    return {"f1": few_shot_prototype_f1(emb, labels, shots=r.evaluation.shots, episodes=r.evaluation.episodes,
                                        seed=seed),
            "tree_spearman": similarity_matrix_spearman(emb, tree_matrix)}


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path | None = None
              ) -> ReproResult:
    """Every arm on every seed, then the precondition and the claims (module docstring)."""
    from contrastkit.papers.space2.module import TreeSemiSupervised
    from contrastkit.text.dialogue import TreeScores, exact_tree_match
    from contrastkit.text.moe import TopLayers
    from contrastkit.training import fit

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = load(quick, recipe)
    seeds = list(r.seeds if seeds is None else seeds)
    values: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        train, held = utterance_sets(r.data, seed)
        encoder, ((s_tr, m_tr), (s_ho, m_ho)) = encoder_and_states(r.data, r.model.n_top, [train, held])
        lab, unl = labeled_split(len(train), r.data.labeled_fraction, seed)
        trees = [train[i].tree for i in lab.tolist()]
        scores, exact = TreeScores(trees), exact_tree_match(trees)
        held_matrix = TreeScores([u.tree for u in held], dtype=torch.float64).dense()
        y_ho = label_ids(held)
        torch.manual_seed(seed)
        base_top = TopLayers(encoder, r.model.n_top)
        base_head = head(encoder.dim, r.model.head_hidden, r.model.head_out)
        for metric, v in measure(pooled(base_top, s_ho, m_ho), y_ho, held_matrix, r, seed).items():
            values.setdefault("base", {}).setdefault(metric, []).append(v)
        for arm_name, arm in r.arms.items():
            top, hd = copy.deepcopy(base_top), copy.deepcopy(base_head)  # same start for every arm
            # supervision "none" (SimCLR only) uses the labeled rows without their trees
            module = TreeSemiSupervised(top, hd, s_tr[lab], m_tr[lab], s_tr[unl], m_tr[unl],
                                        supervision=arm.supervision, scores=scores, exact_ids=exact,
                                        temperature=r.loss.temperature,
                                        unlabeled_batch_size=r.trainer.unlabeled_batch_size,
                                        batch_size=min(r.trainer.batch_size, len(lab)), lr=r.trainer.lr,
                                        weight_decay=r.trainer.weight_decay, seed=seed)
            fit(module.train(), max_steps=r.trainer.steps)
            for metric, v in measure(pooled(top, s_ho, m_ho), y_ho, held_matrix, r, seed).items():
                values.setdefault(arm_name, {}).setdefault(metric, []).append(v)
    metrics = metric_table(values)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["seeds"] = seeds
    return decide(r, values, quick, metrics)


def decide(r: Space2Recipe, values: dict[str, dict[str, list[float]]], quick: bool,
           metrics: dict[str, Any] | None = None) -> ReproResult:
    """Precondition (hard learns) and the SPACE-2 > hard > SimCLR claims from ``values[arm][metric]``."""
    c = r.claims
    learn = paired(values["hard"]["f1"], values["base"]["f1"], c.learns.model_dump())
    claims = [Claim.from_test("hard SupCon learns (10-shot act F1 on held-out templates > off-the-shelf MiniLM)",
                              learn, precondition=True, note=f"hard {fmt(values['hard']['f1'], digits=3)} vs base "
                                                             f"{fmt(values['base']['f1'], digits=3)}")]
    for metric in METRICS:
        spec = getattr(c, metric)
        claims += comparison_claims(metric, values["space2"][metric], values["hard"][metric], spec,
                                    method_name="SPACE-2", baseline_name="hard SupCon",
                                    effect_source="the recipe's choice")
        claims += comparison_claims(metric, values["hard"][metric], values["simclr"][metric], spec,
                                    method_name="hard SupCon", baseline_name="SimCLR",
                                    effect_source="the recipe's choice")
    return ReproResult("space2", gate(claims, quick), metrics if metrics is not None else metric_table(values),
                       quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
