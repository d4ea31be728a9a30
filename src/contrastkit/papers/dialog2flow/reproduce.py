"""Dialog2Flow (Burdisso et al., EMNLP 2024, "Dialog2Flow: Pre-training Soft-Contrastive Action-Driven Sentence
Embeddings for Automatic Dialog Flow Extraction") in miniature on the offline TOD utterance set
(:mod:`contrastkit.text.dialogue`).

Per seed (fillers redrawn, template split fixed): the top layer of all-MiniLM-L6-v2 (lower layers frozen, states
cached) + the training-only head is trained on same-act pairs with the hard targets (D2F-Hard) and with the soft
targets ``softmax_j(cos(g(l_i), g(l_j)) / tau')`` from the frozen packaged MiniLM ``g`` of the label texts. Both
arms start from the same weights and see the same batches. Evaluation on the held-out templates, pooled
features: 1- and 5-shot prototype macro-F1 (:func:`contrastkit.evaluate.few_shot_prototype_f1`) and Spearman
between the act centroids' cosine similarities and the label texts' similarities under ``g``
(:func:`contrastkit.evaluate.centroid_similarity_spearman`). Precondition: the hard arm learns (5-shot F1 above
the off-the-shelf MiniLM). Claims: soft >= hard on each metric (paired over seeds, non-inferiority; each with
its power precondition). Settings: ``recipe.yaml``.
"""

from __future__ import annotations

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
from contrastkit.papers.dialog2flow.schema import Dialog2FlowRecipe
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")
METRICS = ("f1_1shot", "f1_5shot", "spearman")




def load(quick: bool = False, path: str | Path | None = None) -> Dialog2FlowRecipe:
    return load_paper_recipe("dialog2flow", Dialog2FlowRecipe, quick=quick, path=path)


def label_similarity(label_embeddings: torch.Tensor) -> torch.Tensor:
    """``(G, G)`` cosine similarities of the label texts under the frozen encoder (the Spearman reference)."""
    g = torch.nn.functional.normalize(label_embeddings.double(), dim=1)
    return g @ g.T


def measure(emb: torch.Tensor, labels: torch.Tensor, label_sim: torch.Tensor, r: Dialog2FlowRecipe,
            seed: int) -> dict[str, float]:
    """Few-shot prototype F1 per ``shots`` and the centroid-vs-label-text Spearman of pooled ``emb``."""
    from contrastkit.evaluate import centroid_similarity_spearman, few_shot_prototype_f1

    out = {f"f1_{k}shot": few_shot_prototype_f1(emb, labels, shots=k, episodes=r.evaluation.episodes, seed=seed)
           for k in r.evaluation.shots}
    out["spearman"] = centroid_similarity_spearman(emb, labels, label_sim)
    return out


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path | None = None
              ) -> ReproResult:
    """Every arm on every seed, then the precondition and the claims (module docstring)."""
    from contrastkit.papers.dialog2flow.module import ActPairs
    from contrastkit.text.dialogue import LABELS
    from contrastkit.text.moe import TopLayers
    from contrastkit.training import fit

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = load(quick, recipe)
    seeds = list(r.seeds if seeds is None else seeds)
    values: dict[str, dict[str, list[float]]] = {}
    label_emb = None
    for seed in seeds:
        train, held = utterance_sets(r.data, seed)
        encoder, ((s_tr, m_tr), (s_ho, m_ho)) = encoder_and_states(r.data, r.model.n_top, [train, held])
        if label_emb is None:  # the frozen label encoder g: the packaged MiniLM itself, never trained
            label_emb = encoder.encode(list(LABELS), normalize=True).detach()
        label_sim = label_similarity(label_emb)
        y_tr, y_ho = label_ids(train), label_ids(held)
        torch.manual_seed(seed)
        base_top = TopLayers(encoder, r.model.n_top)
        base_head = head(encoder.dim, r.model.head_hidden, r.model.head_out)
        for metric, v in measure(pooled(base_top, s_ho, m_ho), y_ho, label_sim, r, seed).items():
            values.setdefault("base", {}).setdefault(metric, []).append(v)
        for arm_name, arm in r.arms.items():
            top, hd = _copy(base_top), _copy(base_head)  # same start for every arm
            module = ActPairs(top, hd, s_tr, m_tr, y_tr, label_emb, soft=arm.soft,
                              temperature=r.loss.temperature, label_temperature=r.loss.label_temperature,
                              batch_size=min(r.trainer.batch_size, len(y_tr)), lr=r.trainer.lr,
                              weight_decay=r.trainer.weight_decay, seed=seed)
            fit(module.train(), max_steps=r.trainer.steps)
            for metric, v in measure(pooled(top, s_ho, m_ho), y_ho, label_sim, r, seed).items():
                values.setdefault(arm_name, {}).setdefault(metric, []).append(v)
    metrics = metric_table(values)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["seeds"] = seeds
    return decide(r, values, quick, metrics)


def _copy(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(module)


def decide(r: Dialog2FlowRecipe, values: dict[str, dict[str, list[float]]], quick: bool,
           metrics: dict[str, Any] | None = None) -> ReproResult:
    """Precondition (hard learns) and the soft >= hard claims from ``values[arm][metric]`` per-seed lists."""
    c = r.claims
    key = "f1_5shot" if "f1_5shot" in values["hard"] else next(iter(values["hard"]))
    learn = paired(values["hard"][key], values["base"][key], c.learns.model_dump())
    claims = [Claim.from_test(f"the hard arm learns ({key} on held-out templates > off-the-shelf MiniLM)", learn,
                              precondition=True, note=f"hard {fmt(values['hard'][key], digits=3)} vs base "
                                                      f"{fmt(values['base'][key], digits=3)}")]
    sources = {"f1_1shot": "the paper's 1-shot soft-hard gap", "f1_5shot": "the paper's 5-shot soft-hard gap",
               "spearman": "the recipe's choice (no paper figure)"}
    for metric in METRICS:
        if metric not in values["soft"]:
            continue
        claims += comparison_claims(metric, values["soft"][metric], values["hard"][metric], getattr(c, metric),
                                    method_name="soft", baseline_name="hard", effect_source=sources[metric])
    return ReproResult("dialog2flow", gate(claims, quick), metrics if metrics is not None else metric_table(values),
                       quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
