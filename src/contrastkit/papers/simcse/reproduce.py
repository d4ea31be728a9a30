"""Reproduction of unsupervised SimCSE (Gao, Yao & Chen, EMNLP 2021) in miniature.

Settings: ``papers/simcse/recipe.yaml``. The packaged all-MiniLM-L6-v2's top layer is fine-tuned with
:class:`contrastkit.losses.SimCSE` on two dropout views of Lee background sentences; the Lee corpus measures
STS (Spearman against the human similarities) and length bias (:func:`contrastkit.papers._text.length_bias`).

* precondition (gating): dropout makes the views: two train-mode forwards of one batch differ, two
  eval-mode forwards agree exactly;
* claim (gating): SimCSE improves Lee STS Spearman over the untrained start (paired over seeds), with the
  design's minimum detectable effect no larger than the recipe's ``effect``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from contrastkit.papers._claims import gate, paired, power_precondition
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def setup(recipe: dict[str, Any]) -> dict[str, Any]:
    """Encoder, cached training states and the Lee evaluation, shared by every seed and arm."""
    from contrastkit.papers._text import LeeEvaluation, background_sentences, lower_states
    from contrastkit.text import TextEncoder

    m, d = recipe["model"], recipe["data"]
    encoder = TextEncoder.from_pretrained()
    sentences = background_sentences(d["n_sentences"], min_words=d["min_words"], max_words=d["max_words"],
                                     seed=d["data_seed"])
    states, mask = lower_states(encoder, sentences, m["train_layers"], max_length=m["max_length"])
    lee = LeeEvaluation(encoder, m["train_layers"], m["eval_max_length"])
    return {"encoder": encoder, "sentences": sentences, "states": states, "mask": mask, "lee": lee}


def dropout_views(top: Any, states: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Mean cosine of two forwards of one batch in train mode and the max |difference| in eval mode."""
    was = top.training
    with torch.no_grad():
        top.train()
        a, b = top(states, mask), top(states, mask)
        top.eval()
        c, e = top(states, mask), top(states, mask)
    top.train(was)
    return {"train_view_cosine": float(torch.nn.functional.cosine_similarity(a, b).mean()),
            "eval_view_max_diff": float((c - e).abs().max())}


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Untrained start vs SimCSE over the recipe's seeds (module docstring)."""
    from contrastkit.papers._claims import run_seeds
    from contrastkit.papers._text import TopLayers, load_text_recipe, train_top_layers

    torch.set_num_threads(1)
    recipe = load_text_recipe("simcse", quick)
    chosen = run_seeds(recipe, False, seeds)
    t = recipe["trainer"]
    ctx = setup(recipe)
    start = TopLayers(ctx["encoder"], recipe["model"]["train_layers"])
    untrained = ctx["lee"].measure(start)
    views = dropout_views(start, ctx["states"][:16], ctx["mask"][:16])
    m: dict[str, list[float]] = {"untrained_spearman": [], "simcse_spearman": [], "untrained_length_bias": [],
                                 "simcse_length_bias": [], "final_loss": [], "seconds": []}
    for seed in chosen:
        top = TopLayers(ctx["encoder"], recipe["model"]["train_layers"])
        began = time.perf_counter()
        losses = train_top_layers(top, ctx["states"], ctx["mask"], lambda idx, gen: (None, None), steps=t["steps"],
                                  batch_size=t["batch_size"], lr=t["lr"], temperature=t["temperature"], seed=seed)
        m["seconds"].append(time.perf_counter() - began)
        after = ctx["lee"].measure(top)
        m["untrained_spearman"].append(untrained["spearman"])
        m["untrained_length_bias"].append(untrained["length_bias"])
        m["simcse_spearman"].append(after["spearman"])
        m["simcse_length_bias"].append(after["length_bias"])
        m["final_loss"].append(sum(losses[-5:]) / len(losses[-5:]))
    spec = recipe["claims"]["improves_sts"]
    test = paired(m["simcse_spearman"], m["untrained_spearman"], spec)
    name = "SimCSE improves Lee STS Spearman over the untrained start"
    claims = [
        Claim("dropout views: two train-mode forwards differ, two eval-mode forwards agree",
              views["train_view_cosine"] < 1 - 1e-6 and views["eval_view_max_diff"] == 0.0,
              f"train-mode view cosine {views['train_view_cosine']:.6f}, eval-mode max |diff| "
              f"{views['eval_view_max_diff']:.1e}", precondition=True),
        power_precondition("Lee STS Spearman", test, float(spec["effect"]), guards=name),
        Claim.from_test(name, test, note=f"SimCSE {fmt(m['simcse_spearman'], digits=4)} vs start "
                        f"{untrained['spearman']:.4f}; final loss {fmt(m['final_loss'], digits=6)}; length bias "
                        f"{fmt(m['simcse_length_bias'], digits=4)} vs start {untrained['length_bias']:.4f} "
                        f"(human {ctx['lee'].human_length_bias:.4f})"),
    ]
    metrics: dict[str, Any] = {k: {"values": v} for k, v in m.items()} | views | {
        "seeds": list(chosen), "human_length_bias": ctx["lee"].human_length_bias}
    return ReproResult("simcse", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
