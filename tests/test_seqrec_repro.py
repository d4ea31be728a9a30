"""Seqrec reproductions: recipe settings, claim wiring on canned runs, quick smoke runs."""

import importlib.util

import pytest
import torch

import contrastkit.papers._seqrec as R
from contrastkit.papers import PAPERS, get_reproduction

needs_recbole = pytest.mark.skipif(importlib.util.find_spec("recbole") is None, reason="recbole not installed")


@pytest.mark.parametrize("name", ["cl4srec", "sra-cl", "mclrec"])
def test_registered_and_recipe_complete(name):
    assert name in PAPERS and callable(get_reproduction(name))
    s = R.seqrec_settings(R.load_recipe(name))
    assert s["dataset"] == "ml-100k" and s["epochs"] >= 1 and len(R.load_recipe(name)["training"]["seeds"]) == 3
    q = R.seqrec_settings(R.load_recipe(name), quick=True)
    assert q["epochs"] == 1 and q["max_users"] == 50


def test_shared_runs_have_one_key():
    a = R.seqrec_settings(R.load_recipe("cl4srec"))
    b = R.seqrec_settings(R.load_recipe("mclrec"))
    assert R.run_key("sasrec", 256, 0, a) == R.run_key("sasrec", 256, 0, b)
    assert R.run_key("sasrec", 256, 0, a) != R.run_key("sasrec", 256, 1, a)


def test_missing_recipe_key(monkeypatch):
    recipe = R.load_recipe("cl4srec")
    del recipe["training"]["lr"]
    with pytest.raises(ValueError, match="missing required key 'training.lr'"):
        R.seqrec_settings(recipe)


def canned(values):
    """run_one stand-in: test NDCG@10 from ``values[(method, batch)][seed]``."""
    def run_one(method, batch_size, seed, s, use_cache=True):
        v = values[(method, batch_size)][seed]
        return {"test": {k: v for k in ("HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR")},
                "sequences_per_second": 1.0, "seconds": 1.0, "best_epoch": 1}
    return run_one


@needs_recbole
def test_claims_follow_the_numbers(monkeypatch):
    good = {("sasrec", 256): [0.05, 0.051, 0.052], ("cl4srec", 256): [0.06, 0.062, 0.061],
            ("mclrec", 256): [0.065, 0.066, 0.067], ("cl4srec", 64): [0.055, 0.054, 0.056],
            ("mclrec", 64): [0.07, 0.072, 0.071]}
    monkeypatch.setattr(R, "run_one", canned(good))
    result = R.mclrec()
    assert result.outcome() == "pass", result.summary()
    bad = dict(good) | {("mclrec", 64): [0.054, 0.053, 0.055]}
    monkeypatch.setattr(R, "run_one", canned(bad))
    result = R.mclrec()
    assert result.outcome() == "fail"
    assert [c.passed for c in result.claims if "batch 64" in c.name] == [False, False]
    floor = {k: [0.0, 0.0, 0.001] for k in good}
    monkeypatch.setattr(R, "run_one", canned(floor))
    assert R.mclrec().outcome() == "not testable"


@needs_recbole
def test_cached_only_reports_missing_runs_as_not_run(monkeypatch):
    run = canned({("sasrec", 256): [0.05, 0.051, 0.052], ("cl4srec", 256): [0.06, 0.062, 0.061],
                  ("mclrec", 256): [0.065, 0.066, 0.067]})
    made = {"sasrec", "cl4srec", "mclrec"}

    def cached(method, batch_size, seed, s):
        return run(method, batch_size, seed, s) if batch_size == 256 and method in made else None

    monkeypatch.setattr(R, "cached_run", cached)
    monkeypatch.setattr(R, "run_one", lambda *a, **k: pytest.fail("cached_only must not train"))
    result = R.mclrec(cached_only=True)
    assert result.outcome() == "not testable", result.summary()
    held = {c.name: c.passed for c in result.claims if not c.precondition}
    assert held["mclrec > cl4srec on test NDCG@10 (batch 256)"] and held["cl4srec > sasrec on test NDCG@10 (batch 256)"]
    missing = [c for c in result.claims if not c.precondition and "not run" in c.detail]
    assert len(missing) == 2 and all(not c.passed for c in missing)
    assert "mclrec@64" not in result.metrics["test"] and result.metrics["test"]["mclrec@256"]["best_epoch"] == [1] * 3
    made.discard("mclrec")
    result = R.mclrec(cached_only=True)
    assert result.outcome() == "not testable" and "mclrec@256" not in result.metrics["test"]


@needs_recbole
def test_quick_mclrec_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path))
    result = R.mclrec(quick=True)
    assert result.outcome() == "smoke"
    assert set(result.metrics["test"]) == {"sasrec@256", "cl4srec@256", "mclrec@256", "cl4srec@64", "mclrec@64"}
    assert list((tmp_path / "seqrec" / "runs").glob("*.json"))


@needs_recbole
def test_quick_sra_cl_runs(tmp_path, monkeypatch):
    import contrastkit.seqrec.semantic as S

    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path))
    # The MiniLM path is tested in test_seqrec_semantic.py; here a seeded stand-in keeps the smoke run short.
    monkeypatch.setattr(S, "encode_texts", lambda texts, **kw: torch.nn.functional.normalize(
        torch.randn(len(texts), 16, generator=torch.Generator().manual_seed(len(texts))), dim=1))
    result = R.sra_cl(quick=True)
    assert result.outcome() == "smoke" and "sra_cl@256" in result.metrics["test"]


@pytest.mark.parametrize("name", ["cl4srec", "sra-cl", "mclrec"])
def test_paper_folder_complete(name):
    from contrastkit.papers import get_paper

    spec = get_paper(name)
    for required in ("__init__.py", "module.py", "reproduce.py", "recipe.yaml", "README.md"):
        assert (spec.folder / required).is_file(), required
    readme = (spec.folder / "README.md").read_text()
    assert spec.citation in readme and "Deviations from the paper" in readme and spec.outcome in readme
    assert isinstance(spec.load_module(), type) and callable(spec.load_loss())
    assert spec.load_reproduction() is get_reproduction(name)
