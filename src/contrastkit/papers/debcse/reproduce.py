"""Reproduction of DebCSE (Miao, Du & Zhang, CIKM 2023) in miniature: SimCSE vs neighbour positives vs
DebCSE's inverse-propensity-weighted (IPW) pairs.

Settings: ``papers/debcse/recipe.yaml``. Every arm fine-tunes the packaged all-MiniLM-L6-v2's top layer with
:class:`contrastkit.losses.SimCSE` (the triplet form with hard negatives for the sampled arms); the pairs
come from :mod:`contrastkit.papers.debcse.sampling`.

* precondition (gating): the baseline is length-biased: SimCSE's length bias on the Lee corpus exceeds
  the human judgements' own;
* precondition (gating): the IPW positives have a flatter length-difference histogram (higher entropy)
  than uniform neighbour sampling -- the debiasing the method relies on happens;
* claims (gating, each guarded by its power precondition): DebCSE >= SimCSE on Lee Spearman
  (non-inferiority margin), and DebCSE's length bias < SimCSE's; reported: DebCSE vs neighbours without IPW.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from contrastkit.papers._claims import gate, paired, power_precondition
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """The three arms over the recipe's seeds (module docstring)."""
    from contrastkit.papers._claims import run_seeds
    from contrastkit.papers._text import TopLayers, embed, load_text_recipe, train_top_layers
    from contrastkit.papers.debcse.sampling import build_sampler, entropy
    from contrastkit.papers.simcse.reproduce import setup

    torch.set_num_threads(1)
    recipe = load_text_recipe("debcse", quick)
    chosen = run_seeds(recipe, False, seeds)
    t, s, k = recipe["trainer"], recipe["sampling"], recipe["model"]["train_layers"]
    ctx = setup(recipe)
    teacher = embed(TopLayers(ctx["encoder"], k), ctx["states"], ctx["mask"])
    lengths = torch.tensor([len(x.split()) for x in ctx["sentences"]])
    samplers = {pairs: build_sampler(teacher, lengths, neighbours=s["neighbours"], theta_pos=s["theta_pos"],
                                     theta_neg=s["theta_neg"], edges=list(s["length_edges"]), ipw=pairs == "ipw")
                for pairs in ("neighbours", "ipw")}
    flat = {p: entropy(sm.positive_bin_histogram()) for p, sm in samplers.items()}
    with_positive = float((samplers["ipw"].pos_prob.sum(1) > 0).double().mean())
    m: dict[str, list[float]] = {}
    for seed in chosen:
        for arm, cfg in recipe["arms"].items():
            pairs = cfg["pairs"]
            fn = (lambda idx, gen: (None, None)) if pairs == "simcse" else samplers[pairs]
            top = TopLayers(ctx["encoder"], k)
            began = time.perf_counter()
            train_top_layers(top, ctx["states"], ctx["mask"], fn, steps=t["steps"], batch_size=t["batch_size"],
                             lr=t["lr"], temperature=t["temperature"], seed=seed,
                             hard_negative_weight=t["hard_negative_weight"] if pairs != "simcse" else 0.0)
            m.setdefault(f"{arm}_seconds", []).append(time.perf_counter() - began)
            for key, value in ctx["lee"].measure(top).items():
                m.setdefault(f"{arm}_{key}", []).append(value)
    human_bias = ctx["lee"].human_length_bias
    start = ctx["lee"].measure(TopLayers(ctx["encoder"], k))
    sp, lb = recipe["claims"]["spearman"], recipe["claims"]["length_bias"]
    sp_test = paired(m["debcse_spearman"], m["simcse_spearman"], sp)
    lb_test = paired([-v for v in m["debcse_length_bias"]], [-v for v in m["simcse_length_bias"]], lb)
    nn_test = paired(m["debcse_spearman"], m["neighbours_spearman"], {"margin": 0.0})
    sp_name = f"DebCSE >= SimCSE on Lee STS Spearman (non-inferiority margin {-float(sp['margin'])})"
    lb_name = "DebCSE has a lower length bias than SimCSE"
    claims = [
        Claim("the baseline is length-biased: SimCSE's length bias exceeds the human judgements'",
              sum(m["simcse_length_bias"]) / len(m["simcse_length_bias"]) > human_bias,
              f"SimCSE {fmt(m['simcse_length_bias'], digits=4)} vs human {human_bias:.4f} (untrained start "
              f"{start['length_bias']:.4f})", precondition=True),
        Claim("IPW flattens the positives' length-difference histogram (entropy above uniform neighbour "
              "sampling)", flat["ipw"] > flat["neighbours"],
              f"entropy {flat['ipw']:.3f} vs {flat['neighbours']:.3f} nats; {with_positive:.0%} of anchors "
              "have a neighbour above theta_pos", precondition=True),
        power_precondition("Lee STS Spearman", sp_test, float(sp["effect"]), guards=sp_name),
        power_precondition("length bias", lb_test, float(lb["effect"]), guards=lb_name),
        Claim.from_test(sp_name, sp_test, note=f"DebCSE {fmt(m['debcse_spearman'], digits=4)}, SimCSE "
                        f"{fmt(m['simcse_spearman'], digits=4)}, neighbours {fmt(m['neighbours_spearman'], digits=4)},"
                        f" start {start['spearman']:.4f}"),
        Claim.from_test(lb_name, lb_test, note=f"DebCSE {fmt(m['debcse_length_bias'], digits=4)}, SimCSE "
                        f"{fmt(m['simcse_length_bias'], digits=4)}, neighbours "
                        f"{fmt(m['neighbours_length_bias'], digits=4)}, human {human_bias:.4f}"),
        Claim.from_test("DebCSE beats neighbour positives without IPW on Lee STS Spearman", nn_test, gating=False),
    ]
    metrics: dict[str, Any] = {key: {"values": v} for key, v in m.items()} | {
        "seeds": list(chosen), "human_length_bias": human_bias, "start": start, "positive_bin_entropy": flat,
        "anchors_with_positive": with_positive}
    return ReproResult("debcse", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
