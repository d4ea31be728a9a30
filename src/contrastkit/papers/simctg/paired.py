"""SimCTG claims decided by paired per-seed tests, with the precondition that greedy decoding
degenerates. The miniature is :func:`contrastkit.papers.simctg.reproduce.reproduce`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._claims import gate, main, mean_precondition, paired, power_precondition, rerun_per_seed
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("paired.yaml")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    from contrastkit.papers.simctg.reproduce import reproduce as simctg

    cfg, per = rerun_per_seed(simctg, recipe, quick, seeds)
    return decide(cfg, per, quick)


def decide(cfg: dict[str, Any], per: dict[str, list[float]], quick: bool) -> ReproResult:
    c = cfg["claims"]
    greedy = per["mle_greedy_rep-2"]
    iso = paired(per["simctg_isotropy"], per["mle_isotropy"], c["isotropy"])
    claims = [
        mean_precondition("greedy decoding of the MLE model degenerates (rep-2)", greedy, c["greedy_rep2_min"],
                          "MLE greedy rep-2"),
        power_precondition("SimCTG vs MLE isotropy", iso, c["isotropy"]["paper_effect"]),
        Claim.from_test("SimCTG more isotropic than MLE", iso,
                        note=f"SimCTG {fmt(per['simctg_isotropy'], digits=3)} vs MLE "
                             f"{fmt(per['mle_isotropy'], digits=3)}"),
    ]
    for m in ("mle", "simctg"):
        test = paired([-v for v in per[f"{m}_contrastive_rep-2"]], [-v for v in per[f"{m}_greedy_rep-2"]], c["rep2"])
        claims += [power_precondition(f"rep-2 reduction ({m} model)", test, c["rep2"]["paper_effect"]),
                   Claim.from_test(f"contrastive search lowers rep-2 vs greedy ({m} model)", test,
                                   note=f"greedy {fmt(per[f'{m}_greedy_rep-2'])} -> CS "
                                        f"{fmt(per[f'{m}_contrastive_rep-2'])}")]
    return ReproResult("simctg", gate(claims, quick), {"per_seed": per}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
