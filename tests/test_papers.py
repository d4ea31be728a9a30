"""The paper registry: every folder is complete, every reference resolves, the CLI and README come from it."""

import importlib
import re
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.papers import MODALITIES, PAPERS, PaperSpec, get_paper, get_reproduction, list_papers
from contrastkit.papers._common import recipe_path
from contrastkit.papers._spec import resolve
from contrastkit.papers._table import README_BEGIN, README_END, readme_section

ROOT = Path(__file__).resolve().parents[1]
PAPERS_DIR = ROOT / "src" / "contrastkit" / "papers"
# the 16 reproductions registered before the papers/ layout, by their old "module:function"
OLD = {"dcl": "vision", "cacr": "vision", "temperature": "vision", "autotcl": "timeseries", "comet": "timeseries",
       "dbpm": "timeseries", "forecasting": "timeseries", "simctg": "generation", "rankgen": "generation",
       "claps": "generation", "clip": "multimodal", "cwcl": "multimodal", "fini": "multimodal",
       "hydra": "multimodal", "sepclr": "multimodal", "supremix": "multimodal"}


# reproductions added with the papers/ layout (no old import path)
NEW = {"beat", "blto", "cl4srec", "cleanclip", "coconut", "debcse", "dialog2flow", "hicl", "invertune", "mclrec",
       "meow", "mnrl-moe", "primer", "rerank", "simcse", "space2", "sra-cl"}


def test_registry_holds_every_old_reproduction_and_one_folder_each():
    assert set(PAPERS) == set(OLD) | NEW
    folders = {p.name for p in PAPERS_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert folders == {n.replace("-", "_") for n in PAPERS}


@pytest.mark.parametrize("name", sorted(OLD))
def test_paper_folder_is_complete_and_references_resolve(name):
    spec = get_paper(name)
    assert isinstance(spec, PaperSpec) and spec.name == name and spec.modality in MODALITIES
    folder = PAPERS_DIR / name.replace("-", "_")
    assert spec.folder == folder
    for required in ("__init__.py", "reproduce.py", "README.md"):
        assert (folder / required).is_file(), required
    readme = (folder / "README.md").read_text()
    assert spec.citation in readme and "Deviations from the paper" in readme and spec.outcome in readme
    assert callable(spec.load_loss())
    if spec.module:
        module = spec.load_module()
        assert isinstance(module, type)
        if spec.module.startswith("contrastkit.papers."):
            assert spec.module.startswith(f"contrastkit.papers.{name.replace('-', '_')}.module:")
    if spec.recipe:
        data = yaml.safe_load(spec.recipe_path().read_text())
        assert data["name"] == name and recipe_path(name) == spec.recipe_path()
    # the old import path is the same function object as the new one
    old = getattr(importlib.import_module(f"contrastkit.reproduce.{OLD[name]}"), name)
    assert get_reproduction(name) is old is spec.load_reproduction()


def test_listing_papers_does_not_import_the_reproductions():
    code = ("import sys; from contrastkit.papers import list_papers; list_papers(); "
            "bad = [m for m in sys.modules if m.endswith('.reproduce') and m.startswith('contrastkit.papers')"
            " or m in ('aeon', 'transformers')]; print(bad); assert not bad, bad")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT / "src")} | {k: v for k, v in __import__("os").environ.items()
                                                                   if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr[-2000:]


def test_unknown_names_and_bad_refs_are_named():
    with pytest.raises(ValueError, match="unknown paper 'nope'"):
        get_paper("nope")
    with pytest.raises(ValueError, match="unknown reproduction 'nope'"):
        get_reproduction("nope")
    with pytest.raises(ValueError, match="expected 'package.module:attr'"):
        resolve("contrastkit.losses.DCL")
    with pytest.raises(ValueError, match="modality: expected one of"):
        PaperSpec("x", "t", "c", "audio", "a:b", "", "a:b", "", "claim", "outcome", "x/README.md")


def test_cli_papers_table_and_reproduce_help_come_from_the_registry():
    runner = CliRunner()
    result = runner.invoke(app, ["papers"])
    assert result.exit_code == 0, result.output
    for spec in list_papers():
        assert spec.name in result.output
    md = runner.invoke(app, ["papers", "--markdown"])
    assert md.exit_code == 0
    rows = [line for line in md.output.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", r).group(1) for r in rows] == [p.name for p in list_papers()]
    help_text = runner.invoke(app, ["reproduce", "--help"]).output
    for spec in list_papers():
        assert f"{spec.name}:" in help_text


def test_readme_results_table_is_in_sync_with_the_registry():
    text = (ROOT / "README.md").read_text()
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    assert text[start:end] == readme_section(list_papers()), "run: python scripts/sync_readme.py"


def test_tiled_benchmark_harness_lives_in_benchmarks():
    import contrastkit.functional.tiled as tiled

    assert not hasattr(tiled, "measure_fwd_bwd") and not hasattr(tiled, "gemm_floor_seconds")
    sys.path.insert(0, str(ROOT))
    from benchmarks.tiled_floor import gemm_floor_seconds

    assert gemm_floor_seconds(64, 64, 8) >= 0.0


def test_shipped_files_cite_no_documents_outside_the_repository():
    pattern = re.compile(r"papers-[12]\.md|\bissue [0-9]+\b|\bnotes §|\bthe brief\b")
    offenders = []
    for folder in ("src", "docs", "benchmarks", "tests", "scripts"):
        for path in (ROOT / folder).rglob("*"):
            if path == Path(__file__).resolve():  # this test spells the patterns out
                continue
            if path.suffix in {".py", ".md", ".yaml"} and pattern.search(path.read_text(errors="ignore")):
                offenders.append(str(path.relative_to(ROOT)))
    for name in ("README.md", "CONTRIBUTING.md"):
        if pattern.search((ROOT / name).read_text()):
            offenders.append(name)
    assert not offenders, offenders
