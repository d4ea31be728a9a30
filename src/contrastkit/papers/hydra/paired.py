"""Hydra / SimLAP claims decided by paired per-seed tests, with the precondition that arbitrary
positives hurt ungated SupCon. The miniature is :func:`contrastkit.papers.hydra.reproduce.reproduce`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("paired.yaml")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    from contrastkit.papers.hydra.reproduce import reproduce as hydra

    cfg = load_recipe(recipe)
    return decide(cfg, hydra(quick=quick, seeds=run_seeds(cfg, quick, seeds)).metrics, quick)


def decide(cfg: dict[str, Any], metrics: dict[str, Any], quick: bool) -> ReproResult:
    c, acc = cfg["claims"], metrics["linear_probe"]
    hurt = paired(acc["supcon"], acc["supcon_arbitrary"], c["arbitrary_hurts"])
    gain = paired(acc["hydra_arbitrary"], acc["supcon_arbitrary"], c["gain_over_arbitrary"])
    noninf = paired(acc["hydra_arbitrary"], acc["supcon"], c["vs_supcon"])
    h, sa, s = (fmt(acc[k], 100) for k in ("hydra_arbitrary", "supcon_arbitrary", "supcon"))
    claims = [
        Claim.from_test("arbitrary positives hurt ungated SupCon", hurt, scale=100, unit=" points",
                        precondition=True, note=f"SupCon {s}% vs SupCon-arbitrary {sa}%"),
        power_precondition("gated vs ungated arbitrary pairs", gain, c["gain_over_arbitrary"]["paper_effect"],
                           scale=100, unit=" points"),
        Claim.from_test("gated arbitrary pairs > ungated arbitrary + 2 points", gain, scale=100, unit=" points",
                        note=f"Hydra {h}% vs SupCon-arbitrary {sa}%"),
        power_precondition("gated arbitrary pairs vs SupCon", noninf, c["vs_supcon"]["paper_effect"], scale=100,
                           unit=" points"),
        Claim.from_test("gated arbitrary pairs >= SupCon - 2 points (non-inferiority)", noninf, scale=100,
                        unit=" points", note=f"Hydra {h}% vs SupCon {s}%"),
    ]
    return ReproResult("hydra", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
