"""rerank: the planted retrieval set (one positive per group, hard negatives, a fixed disjoint split), the
strict recipe, the decision rules on hand-made per-seed values, and the quick reproduction."""

from __future__ import annotations

import pytest
import torch

from contrastkit.papers._schema import RecipeError, parse_paper_recipe
from contrastkit.papers.rerank import reproduce as rr
from contrastkit.papers.rerank.data import build

SMALL = {"corpus": "lee", "n_docs": 120, "max_doc_words": 16, "query_words": 3, "k": 6, "hard_shared": [2, 1],
         "test_fraction": 0.25, "seed": 0, "max_length": 40}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    return build(**SMALL)


def test_every_group_has_one_positive_holding_the_whole_query(small):
    for split in (small.train, small.test):
        n, k, _ = split.input_ids.shape
        assert k == 6 and split.positive_index.shape == (n,)
        pos = split.overlap.gather(1, split.positive_index[:, None])[:, 0]
        assert bool((pos == 3).all())
        neg = split.overlap.clone().scatter_(1, split.positive_index[:, None], -1.0)
        assert bool((neg < 3).all())
        # the planted hard negatives: at least one negative shares 2 query words, another at least 1
        ranked = neg.sort(dim=1, descending=True).values
        assert bool((ranked[:, 0] >= 2).all()) and bool((ranked[:, 1] >= 1).all())
        # the positive's slot is drawn, not fixed
        assert len(set(split.positive_index.tolist())) > 1
        # the answer token closes every prompt
        last = split.attention_mask.sum(-1) - 1
        assert bool((split.input_ids.gather(2, last[..., None]) == small.vocab["[ASK]"]).all())


def test_split_is_fixed_and_disjoint(small):
    again = build(**SMALL)
    assert torch.equal(again.test.input_ids, small.test.input_ids)
    assert torch.equal(again.train.positive_index, small.train.positive_index)

    def positives(split):
        rows = split.input_ids[torch.arange(split.input_ids.shape[0]), split.positive_index]
        sep = small.vocab["[SEP]"]
        return {tuple(t for t in r.tolist()[r.tolist().index(sep) + 1:] if t > 2) for r in rows}

    assert not positives(small.train) & positives(small.test)
    assert small.yes_id != small.no_id and small.corpus == "lee"


def test_bad_data_settings_are_named():
    with pytest.raises(ValueError, match="^data.hard_shared: "):
        build(**{**SMALL, "hard_shared": [3]})
    with pytest.raises(ValueError, match="^data.corpus: "):
        build(**{**SMALL, "corpus": "wiki"})
    with pytest.raises(ValueError, match="^data.test_fraction: "):
        build(**{**SMALL, "test_fraction": 1.0})
    with pytest.raises(ValueError, match="^data.n_docs: "):
        build(**{**SMALL, "n_docs": 10})


def test_recipe_is_strict_and_arms_are_checked(tmp_path):
    import yaml

    from contrastkit.papers._common import recipe_path

    raw = yaml.safe_load(recipe_path("rerank").read_text())
    assert parse_paper_recipe(raw, rr.RerankRecipe).trainer.steps > parse_paper_recipe(
        raw, rr.RerankRecipe, quick=True).trainer.steps
    with pytest.raises(RecipeError, match="trainer.stepz: unknown key"):
        parse_paper_recipe({**raw, "trainer": {**raw["trainer"], "stepz": 3}}, rr.RerankRecipe)
    with pytest.raises(RecipeError, match="data.k: Input should be a valid integer"):
        parse_paper_recipe({**raw, "data": {**raw["data"], "k": "8"}}, rr.RerankRecipe)
    bad = {**raw, "arms": {**raw["arms"], "cl_cl": {"weight": "cl", "direction": "dpo"}}}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="^arms.cl_cl.direction: expected one of"):
        rr.load(path=path)


def _per(sft: float, cl: float, untrained: float = 0.35, noise: tuple[float, ...] = (0.0, 0.01, -0.01),
         direction_gap: float = 0.0) -> dict[str, list[float]]:
    per: dict[str, list[float]] = {}
    for arm, base in (("sft_sft", sft), ("sft_cl", sft - direction_gap), ("cl_sft", cl), ("cl_cl", cl - direction_gap)):
        for key in ("MRR", "NDCG@5"):
            drift = 0.002 if arm.startswith("sft") else 0.0
            per[f"{arm}/{key}"] = [base + e + drift * i for i, e in enumerate(noise)]
    for d in ("cl", "sft"):
        per[f"untrained_{d}/MRR"] = [untrained] * 3
    return per


def test_decision_rules():
    r = rr.load()
    assert rr.decide(r, _per(0.60, 0.50), quick=False).outcome() == "pass"
    assert rr.decide(r, _per(0.50, 0.60), quick=False).outcome() == "fail"
    # nothing learned: the claims are not evaluated
    assert rr.decide(r, _per(0.37, 0.36), quick=False).outcome() == "not testable"
    # a large direction effect breaks "the direction matters little"
    res = rr.decide(r, _per(0.60, 0.50, direction_gap=0.10), quick=False)
    assert res.outcome() == "fail"
    assert [c.passed for c in res.claims if c.name.startswith("the direction")] == [False]
    # a quick run is a smoke run whatever its numbers
    assert rr.decide(r, _per(0.60, 0.50), quick=True).outcome() == "smoke"


def test_quick_reproduction_runs_every_arm():
    res = rr.reproduce(quick=True)
    assert res.outcome() == "smoke" and res.quick
    for arm in ("sft_sft", "sft_cl", "cl_sft", "cl_cl", "untrained_cl", "untrained_sft", "lexical"):
        assert len(res.metrics[f"{arm}/MRR"]["values"]) == 1
    assert res.metrics["lexical/MRR"]["values"] == [1.0]
    assert res.metrics["corpus"] in ("fortunes", "lee")


def test_quick_run_falls_back_to_the_bundled_lee_documents_without_fortunes(monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    data = rr.retrieval_data(rr.load(quick=True))
    assert data.corpus == "lee" and data.test.input_ids.shape[1] == 8
    with pytest.raises(FileNotFoundError, match="fortunes"):
        rr.retrieval_data(rr.load(quick=False))  # the full run needs Debian fortunes: no silent substitute
