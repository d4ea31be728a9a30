"""COCONUT miniature: ER vs ER + NSPT vs ER + NSPT + MM on the synthesised spoken-intent corpus.

Claims (paired over seeds): forgetting ER+NSPT+MM < ER+NSPT < ER, and final average accuracy in the
reverse order. Preconditions: ER learns the first task; ER forgets (there is something to reduce); each
comparison's design can detect the stated effect (or is conclusive anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.continual import ClassBalancedBuffer, TaskPlan, average_accuracy, forgetting
from contrastkit.papers._claims import gate, load_recipe, mean_precondition, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, mean_std

RECIPE = Path(__file__).with_name("recipe.yaml")
NAME = "coconut"


def run_arm(arm: dict[str, float], train: Any, test: Any, plan: TaskPlan, cfg: dict[str, Any], seed: int,
            steps: int) -> list[list[float]]:
    """Train one arm through the task sequence; the accuracy matrix ``A[t][j]``."""
    from contrastkit.papers.coconut.module import COCONUTModel
    from contrastkit.training import fit

    torch.manual_seed(seed)
    labels_train = torch.tensor([plan.label(i) for i in train.intents])
    labels_test = torch.tensor([plan.label(i) for i in test.intents])
    m, t = cfg["model"], cfg["trainer"]
    model = COCONUTModel(len(plan.classes), hidden=m["hidden"], embed_dim=m["embed_dim"],
                         temperature=m["temperature"], batch_size=t["batch_size"], lr=t["lr"], seed=seed,
                         lambda_nspt=arm["lambda_nspt"], lambda_mm=arm["lambda_mm"])
    buffer = ClassBalancedBuffer(cfg["buffer"]["per_class"], seed=seed)
    matrix: list[list[float]] = []
    for task, classes in enumerate(plan.tasks):
        ids = {plan.label(c) for c in classes}
        current = [i for i, y in enumerate(labels_train.tolist()) if y in ids]
        memory = buffer.indices()
        rows = torch.tensor(current + memory)
        rehearsal = torch.tensor([False] * len(current) + [True] * len(memory))
        seen = [plan.label(c) for c in plan.seen(task)]
        model.start_task(train.features[rows], train.lengths[rows], labels_train[rows], train.text[rows], rehearsal,
                         seen)
        model.batch_size = min(t["batch_size"], len(rows))
        fit(model, max_steps=steps)
        model.eval()
        with torch.no_grad():
            keep = [i for i, y in enumerate(labels_test.tolist()) if y in set(seen)]
            idx = torch.tensor(keep)
            pred = model.logits(test.features[idx], test.lengths[idx]).argmax(1)
        truth = labels_test[idx]
        row = []
        for j in range(task + 1):
            in_task = torch.tensor([plan.task_of(plan.classes[y]) == j for y in truth.tolist()])
            row.append(float((pred[in_task] == truth[in_task]).float().mean()))
        matrix.append(row)
        buffer.add(current, labels_train[current].tolist())
        model.freeze_teacher()
        model.train()
    return matrix


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Run the miniature (every setting from ``recipe.yaml``; ``quick``: the recipe's smoke overrides)."""
    from contrastkit.papers.coconut.data import load_intent_sets
    from contrastkit.speech.corpus import INTENTS

    cfg = load_recipe(RECIPE)
    q = cfg["quick"] if quick else {}
    corpus = dict(q.get("corpus", cfg["data"]["corpus"]))
    intents = tuple(q.get("intents", INTENTS))
    corpus["intents"] = intents
    train, test = load_intent_sets(corpus, max_frames=cfg["data"]["max_frames"])
    per_task = q.get("tasks", cfg["tasks"])["per_task"]
    steps = q.get("steps_per_task", cfg["trainer"]["steps_per_task"])
    torch.set_num_threads(1)
    chosen = run_seeds(cfg, quick, seeds)
    results: dict[str, dict[str, list[float]]] = {a: {"final": [], "forgetting": [], "first": []} for a in cfg["arms"]}
    matrices: dict[str, list[Any]] = {a: [] for a in cfg["arms"]}
    for seed in chosen:
        plan = TaskPlan.split(intents, per_task, seed=seed)
        for name, arm in cfg["arms"].items():
            matrix = run_arm(arm, train, test, plan, cfg, seed, steps)
            matrices[name].append(matrix)
            results[name]["final"].append(average_accuracy(matrix))
            results[name]["forgetting"].append(forgetting(matrix))
            results[name]["first"].append(matrix[0][0])
    c = cfg["claims"]
    claims = [
        mean_precondition("ER learns the first task", results["er"]["first"], c["first_task_min"],
                          "ER accuracy on task 0 right after it"),
        mean_precondition("ER forgets", results["er"]["forgetting"], c["er_forgetting_min"], "ER forgetting"),
    ]
    if len(chosen) >= 2:
        order = [("er_nspt", "er"), ("er_nspt_mm", "er_nspt")]
        for better, worse in order:
            for metric, sign, spec in (("forgetting", -1.0, c["forgetting"]), ("final", 1.0, c["accuracy"])):
                label = "forgetting" if metric == "forgetting" else "final average accuracy"
                test_ = paired([sign * v for v in results[better][metric]], [sign * v for v in results[worse][metric]],
                               spec)
                name = f"{label}: {better} {'<' if sign < 0 else '>'} {worse}"
                claims.append(Claim.from_test(name, test_, scale=100, unit=" points"))
                claims.append(power_precondition(name, test_, spec["paper_effect"], scale=100, unit=" points",
                                                 guards=name))
    metrics: dict[str, Any] = {"seeds": chosen, "intents": list(intents), "n_train": len(train.intents),
                               "n_test": len(test.intents), "accuracy_matrices": matrices}
    for arm, values in results.items():
        for metric, vals in values.items():
            mean, std = mean_std(vals)
            metrics[f"{arm}_{metric}"] = {"values": vals, "mean": mean, "std": std}
    return ReproResult(name=NAME, claims=gate(claims, quick), metrics=metrics, quick=quick)


if __name__ == "__main__":  # pragma: no cover
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
