"""``contrastkit train NAME|PATH``: named recipes from any folder, reproduction recipes in one line, CLIP/LiT and
TS2Vec training recipes (smoke runs on tiny subsets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import contrastkit as ck
from contrastkit.cli import app
from contrastkit.papers import PAPERS, get_paper
from contrastkit.pipeline.named import RECIPES_DIR, recipe_names, reproduction_of, resolve_recipe

REPO_RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _train(*args: str):
    return CliRunner().invoke(app, ["train", *args, "--no-progress"])


def _error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_names_resolve_to_the_packaged_files_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_recipe("simclr-digits") == RECIPES_DIR / "simclr-digits.yaml"
    assert resolve_recipe("simclr-digits.yaml") == RECIPES_DIR / "simclr-digits.yaml"
    assert resolve_recipe("recipes/ts2vec-ucr.yaml") == RECIPES_DIR / "ts2vec-ucr.yaml"  # as the docs spell it
    assert resolve_recipe("claps").name == "recipe.yaml"  # a paper recipe without a recipes/ entry
    own = tmp_path / "simclr-digits.yaml"
    own.write_text("name: mine\n")
    assert resolve_recipe("simclr-digits.yaml") == Path("simclr-digits.yaml")  # an existing path wins
    names = recipe_names()
    assert {"simclr-digits", "clip-digits", "lit-digits", "ts2vec-ucr", "clip"} <= set(names)


def test_an_unknown_name_is_one_line_listing_the_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _error_line(_train("no-such-recipe"))
    assert "recipe: file not found: no-such-recipe" in line and "simclr-digits" in line


def _reproduction_files() -> list[Path]:
    files = sorted(p for p in RECIPES_DIR.glob("*.yaml") if reproduction_of(p, _yaml(p)) is not None)
    assert len(files) >= 10  # clip, lit, autotcl, comet, cwcl, dbpm, fini, forecasting, hydra, sepclr, supremix
    return files


def _yaml(path: Path):
    import yaml

    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", _reproduction_files(), ids=lambda p: p.stem)
def test_every_reproduction_recipe_says_what_it_is_and_what_to_run(path, tmp_path):
    line = _error_line(_train(str(path), "--output", str(tmp_path / "out")))
    paper = reproduction_of(path, _yaml(path))
    assert paper in PAPERS
    assert f"is the reproduction recipe of {get_paper(paper).title}" in line
    assert line.endswith(f"run: contrastkit reproduce {paper}")
    assert not (tmp_path / "out").exists()


def test_reproduction_recipe_by_name_and_through_the_repo_symlink(tmp_path, monkeypatch):
    line = _error_line(_train("lit"))
    assert line.endswith("run: contrastkit reproduce clip")
    if (REPO_RECIPES / "clip.yaml").is_file():
        line = _error_line(_train(str(REPO_RECIPES / "clip.yaml")))
        assert line.endswith("run: contrastkit reproduce clip")
    copy = tmp_path / "my-copy.yaml"  # a copy outside the package is still recognised by its name
    copy.write_text((RECIPES_DIR / "dbpm.yaml").read_text())
    assert _error_line(_train(str(copy))).endswith("run: contrastkit reproduce dbpm")


TINY_CLIP = ["--max-steps", "2", "--set", "data.n_train=48", "--set", "data.n_test=30",
             "--set", "trainer.batch_size=16"]


def test_clip_recipe_trains_into_a_loadable_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _train("clip-digits", "--output", "run", *TINY_CLIP)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["zero_shot"] <= 1 and "i2t_recall@1" in metrics
    model = ck.from_pretrained(tmp_path / "run")
    assert type(model).__name__ == "ImageTextModel"
    vocab = json.loads((tmp_path / "run" / "tokenizer.json").read_text())
    assert vocab["<pad>"] == 0 and "seven" in vocab
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_lit_recipe_trains(tmp_path):
    pytest.importorskip("sentence_transformers")
    result = _train("lit-digits", "--output", str(tmp_path / "run"), *TINY_CLIP)
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads((tmp_path / "run" / "metrics.json").read_text())["zero_shot"] <= 1


def test_ts2vec_recipe_trains_and_resumes(tmp_path):
    pytest.importorskip("aeon")
    run = tmp_path / "run"
    result = _train("ts2vec-ucr", "--output", str(run), "--max-steps", "2", "--set", "model.depth=1")
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads((run / "metrics.json").read_text())["svm_probe_accuracy"] <= 1
    assert type(ck.from_pretrained(run)).__name__ == "TSEncoder"
    result = _train("ts2vec-ucr", "--output", str(run), "--max-steps", "3", "--set", "model.depth=1", "--resume")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("recipe", "args", "expected"), [
    ("clip-digits", ["--set", "method.bogus=1"], "method.bogus: unknown key"),
    ("clip-digits", ["--set", "data.dataset=imagenet"], "data.dataset:"),
    ("ts2vec-ucr", ["--set", "data.dataset=ECG200"], "name: 'ECG200' is not bundled with aeon"),
    ("ts2vec-ucr", ["--set", "trainer.batch_size=1000"], "trainer.batch_size: 1000 exceeds"),
    ("lit-digits", ["--set", "model.embed_dim=64"], "model.embed_dim: LiT without model.text_head needs 384"),
])
def test_bad_fit_recipes_are_one_line(recipe, args, expected, tmp_path):
    if recipe.startswith("ts2vec"):
        pytest.importorskip("aeon")
    line = _error_line(_train(recipe, "--output", str(tmp_path / "out"), "--max-steps", "1", *args))
    assert expected in line


def test_an_empty_recipe_file_is_one_line_not_a_default_run(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here yet\n")
    line = _error_line(_train(str(empty), "--output", str(tmp_path / "out")))
    assert f"recipe: {empty}: the file is empty" in line
    assert not (tmp_path / "out").exists()


def _reproduce(*args: str):
    return CliRunner().invoke(app, ["reproduce", *args, "--quick", "--no-progress"])


@pytest.mark.parametrize(("text", "expected"), [
    ("- rankgen\n- 1\n", "expected a mapping at the top level, got list"),
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("name: rankgen\nseeds: [0]\nbogus: {a: 1}\n", "bogus: unknown key"),
    ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)) + "  " * 80 + "x: 1\n", "nested deeper than"),
])
def test_a_broken_paper_recipe_is_one_line_from_reproduce(text, expected, tmp_path, monkeypatch):
    """A reproduction whose recipe does not validate stops with one ``error:`` line (exit 2), no traceback."""
    import contrastkit.papers._schema as schema

    bad = tmp_path / "recipe.yaml"
    bad.write_text(text)
    monkeypatch.setattr(schema, "recipe_path", lambda name: bad)
    line = _error_line(_reproduce("rankgen"))
    assert expected in line


def test_a_wrong_type_in_a_paper_sweep_file_is_one_line_naming_the_key(tmp_path, monkeypatch):
    import contrastkit.papers.dcl.reproduce as dcl
    from contrastkit.papers._recipe_file import read_paper_yaml

    folder = Path(dcl.__file__).parent
    sweep = (folder / "reproduce.yaml").read_text().replace("quick_max_steps: 15", "quick_max_steps: '15'")
    (tmp_path / "reproduce.yaml").write_text(sweep)
    monkeypatch.setattr(dcl, "read_paper_yaml", lambda _folder, name: read_paper_yaml(tmp_path, name))
    line = _error_line(_reproduce("dcl"))
    assert "quick_max_steps:" in line and "got '15'" in line
