"""Reproduction of MEOW / AdaMEOW on the WordNet noun heterogeneous graph (settings: ``papers/meow/recipe.yaml``).

Arms, each trained on the same seeds (the seed fixes initialisation, the augmentation draw and K-means):
``infonce`` (the unweighted two-view baseline), ``meow`` (cluster-weighted negatives + ProtoNCE), ``adameow``
(learned weights); references: the raw bag-of-words features and the untrained encoder.

Claims (paired one-sided t-tests over seeds on test Macro-F1 of a logistic-regression probe on frozen ``z_f``):

* precondition (gates every claim): the unweighted InfoNCE encoder beats its untrained copy;
* power preconditions: the MDE of each comparison against the recipe's assumed effect;
* ``meow > infonce`` and ``adameow > infonce``;
* weights: same-class (false-negative) pairs get a lower mean weight than other-class pairs, per method.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from contrastkit.papers._claims import gate, power_precondition
from contrastkit.papers._common import read_recipe, recipe_value
from contrastkit.reproduce.result import Claim, ReproResult, fmt
from contrastkit.reproduce.stats import paired_comparison


def _probe(z: torch.Tensor, data: Any) -> dict[str, float]:
    from contrastkit.evaluate import linear_probe_f1

    s = data["synset"]
    return linear_probe_f1(z[s.train_mask], s.y[s.train_mask], z[s.test_mask], s.y[s.test_mask])


def load_graph(recipe: dict[str, Any], quick: bool = False) -> Any:
    """The recipe's WordNet graph (``quick``: with the ``quick.dataset`` overrides); ``FileNotFoundError``
    when wordnet-base is absent."""
    from contrastkit.graph.data import wordnet_hetero

    ds = dict(recipe["dataset"]) | (dict(recipe["quick"].get("dataset", {})) if quick else {})
    return wordnet_hetero(seed=ds.pop("split_seed"), **ds)


def train_one(data: Any, recipe: dict[str, Any], method: str, seed: int, epochs: int) -> dict[str, Any]:
    """Train one arm for ``epochs`` full-batch Adam steps; its probe scores, weight means and time."""
    from contrastkit.papers.meow.module import MEOW, pair_weight_means

    torch.manual_seed(seed)
    hp = dict(recipe["methods"][method])
    if "clusters" in hp:
        hp["clusters"] = tuple(hp["clusters"])
    model = MEOW(data, "synset", dict(recipe["meta_paths"]), seed=seed, **hp, **dict(recipe["encoder"]))
    random_scores = _probe(model.embed(data), data)
    opt = torch.optim.Adam(model.parameters(), lr=float(recipe_value(recipe, "training.lr")))
    from contrastkit.training.loop import fit_steps

    start, losses = time.time(), []

    def step(epoch: int) -> torch.Tensor:  # full batch: one step per epoch
        loss, _ = model.loss(data, epoch)
        losses.append(float(loss.detach()))
        return loss

    fit_steps(model, step, opt, epochs)
    out: dict[str, Any] = {"probe": _probe(model.embed(data), data), "random": random_scores,
                           "seconds": time.time() - start, "final_loss": losses[-1]}
    if model.last_weights is not None:
        out["weights"] = pair_weight_means(model.last_weights, data["synset"].y)
    return out


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """MEOW / AdaMEOW vs unweighted InfoNCE over the recipe's seeds (module docstring)."""
    torch.set_num_threads(1)
    recipe = read_recipe("meow")
    epochs = int(recipe_value(recipe, "training.epochs", quick))
    chosen = list(recipe_value(recipe, "training.seeds", quick) if seeds is None else seeds)
    if quick:
        chosen = chosen[:1]
    claims_cfg = recipe["claims"]
    metric, alpha = claims_cfg["metric"], float(claims_cfg["alpha"])
    data = load_graph(recipe, quick)
    start = time.time()
    runs = {m: [train_one(data, recipe, m, s, epochs) for s in chosen] for m in recipe["methods"]}
    feats = _probe(data["synset"].x, data)

    def vals(method: str, key: str = metric) -> list[float]:
        return [r["probe"][key] for r in runs[method]]

    base, untrained = vals("infonce"), [r["random"][metric] for r in runs["infonce"]]
    claims = [Claim.from_test("unweighted InfoNCE beats its untrained encoder (test Macro-F1)",
                              paired_comparison(base, untrained, alpha=alpha), scale=100, unit=" pt",
                              precondition=True,
                              note=f"InfoNCE {fmt(base, 100)} vs untrained {fmt(untrained, 100)}; raw bag-of-words "
                                   f"features {100 * feats[metric]:.2f} (reported)")]
    for method, baseline in claims_cfg["beats"]:
        name = f"{method} Macro-F1 > {baseline}"
        test = paired_comparison(vals(method), vals(baseline), alpha=alpha, power=float(claims_cfg["power"]))
        claims.append(power_precondition(name, test, float(claims_cfg["assumed_effect"]), scale=100, unit=" pt",
                                         guards=name))
        claims.append(Claim.from_test(name, test, scale=100, unit=" pt",
                                      note=f"{method} {fmt(vals(method), 100)} vs {baseline} "
                                           f"{fmt(vals(baseline), 100)} (Micro-F1 {fmt(vals(method, 'micro_f1'), 100)}"
                                           f" vs {fmt(vals(baseline, 'micro_f1'), 100)})"))
    for method in ("meow", "adameow"):
        if method not in runs:
            continue
        same = [r["weights"]["same_class"] for r in runs[method]]
        other = [r["weights"]["other_class"] for r in runs[method]]
        claims.append(Claim.from_test(f"{method}: same-class negatives get lower mean weight than other-class",
                                      paired_comparison(other, same, alpha=alpha),
                                      note=f"same {fmt(same, digits=4)} vs other {fmt(other, digits=4)}"))
    metrics: dict[str, Any] = {"features": feats, "seeds": chosen, "epochs": epochs, "seconds": time.time() - start,
                               "nodes": int(data["synset"].num_nodes), "classes": list(data.label_names)}
    for method, rs in runs.items():
        metrics[method] = {"values": [r["probe"][metric] for r in rs], "micro_f1": [r["probe"]["micro_f1"] for r in rs],
                           "seconds": [r["seconds"] for r in rs], "weights": [r.get("weights") for r in rs]}
    metrics["untrained"] = {"values": untrained}
    return ReproResult("meow", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
