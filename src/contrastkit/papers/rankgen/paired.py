"""RankGen claim decided by a paired per-seed test, with the precondition that sampling misses the gold
topic consistency. The miniature is :func:`contrastkit.papers.rankgen.reproduce.reproduce`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.papers._claims import gate, main, mean_precondition, paired, power_precondition, rerun_per_seed
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("paired.yaml")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    from contrastkit.papers.rankgen.reproduce import reproduce as rankgen

    cfg, per = rerun_per_seed(rankgen, recipe, quick, seeds)
    return decide(cfg, per, quick)


def decide(cfg: dict[str, Any], per: dict[str, list[float]], quick: bool) -> ReproResult:
    c = cfg["claims"]
    gap = per["topic_gap_sampled"]
    test = paired([-v for v in per["topic_gap_reranked"]], [-v for v in gap], c["rerank"])
    claims = [
        mean_precondition("sampling misses the gold topic consistency (something to rerank towards)", gap,
                          c["sampled_gap_min"], "|sampled - gold|", digits=3),
        power_precondition("reranked vs sampled topic gap", test, c["rerank"]["paper_effect"]),
        Claim.from_test("reranked continuations closer to gold topic consistency than samples", test,
                        note=f"gap reranked {fmt(per['topic_gap_reranked'], digits=3)} vs sampled "
                             f"{fmt(gap, digits=3)}"),
    ]
    return ReproResult("rankgen", gate(claims, quick), {"per_seed": per}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
