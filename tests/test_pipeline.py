"""Recipes, run folders, atomic checkpoints and exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.methods.batching import batch_rows
from contrastkit.pipeline.checkpoint import atomic_write_bytes, load_checkpoint
from contrastkit.pipeline.recipe import RecipeError, load_recipe, parse_recipe
from contrastkit.pipeline.runfolder import load_model
from contrastkit.pipeline.train import train
from tests.recipes import tiny_recipe

TINY = tiny_recipe()


class _Crash(Callback):
    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_train_batch_end(self, trainer, *args) -> None:  # noqa: ANN001
        if trainer.global_step == self.at_step:
            raise RuntimeError("simulated crash")


def test_unknown_key_and_wrong_type_are_named():
    with pytest.raises(RecipeError, match=r"trainer.max_stpes: unknown key"):
        parse_recipe(TINY | {"trainer": {"max_stpes": 3}})
    with pytest.raises(RecipeError, match=r"trainer.batch_size: .*integer"):
        parse_recipe(TINY | {"trainer": {"batch_size": "big"}})
    with pytest.raises(RecipeError, match=r"method.loss: "):
        parse_recipe(TINY | {"method": {"loss": "triplet"}})
    with pytest.raises(RecipeError, match="expected a mapping"):
        parse_recipe([1, 2])


def test_yaml_is_loaded_safely(tmp_path: Path):
    bad = tmp_path / "evil.yaml"
    bad.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "missing.yaml")


def test_shipped_recipes_validate():
    root = Path(__file__).resolve().parents[1] / "src" / "contrastkit" / "recipes"
    for name in ("simclr-digits", "supcon-digits", "simclr-fashion-mnist", "dcl", "cacr", "temperature", "moco-digits"):
        load_recipe(root / f"{name}.yaml")


def test_batch_rows_partition_the_global_batch_across_ranks():
    full = batch_rows(5, 100, 16, seed=1)
    parts = [batch_rows(5, 100, 16, seed=1, rank=r, world_size=2) for r in range(2)]
    assert sorted(torch.cat(parts).tolist()) == sorted(full.tolist())
    assert len(set(full.tolist())) == 16
    epoch = torch.cat([batch_rows(s, 100, 16, seed=1) for s in range(6)])
    assert len(set(epoch.tolist())) == 96  # no row repeats within an epoch


def test_resume_after_crash_matches_uninterrupted_run(tmp_path: Path):
    recipe = parse_recipe(TINY)
    train(recipe, tmp_path / "full", progress=False, evaluate=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(recipe, tmp_path / "crashed", progress=False, evaluate=False, callbacks=[_Crash(at_step=7)])
    assert not (tmp_path / "crashed" / "model.safetensors").exists()
    assert load_checkpoint(tmp_path / "crashed" / "checkpoints" / "last.ckpt")["global_step"] == 4
    train(recipe, tmp_path / "crashed", resume=True, progress=False, evaluate=False)
    full = load_file(str(tmp_path / "full" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "crashed" / "model.safetensors"))
    assert full.keys() == resumed.keys()
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], rtol=0, atol=0, msg=key)


def test_missing_and_corrupt_checkpoints_are_clear_errors(tmp_path: Path):
    recipe = parse_recipe(TINY)
    with pytest.raises(FileNotFoundError, match="checkpoint: no checkpoint"):
        train(recipe, tmp_path / "none", resume=True, progress=False)
    corrupt = tmp_path / "bad" / "checkpoints" / "last.ckpt"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint: .* is corrupt"):
        train(recipe, tmp_path / "bad", resume=True, progress=False)
    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        train(recipe, tmp_path / "bad", progress=False)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary file left behind


def test_run_folder_via_cli(tmp_path: Path):
    recipe = tmp_path / "tiny.yaml"
    import yaml

    recipe.write_text(yaml.safe_dump(TINY | {"evaluate": {"baselines": True}}))
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(recipe), "--output", str(out), "--max-steps", "6", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "linear probe:" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("linear_probe_accuracy", "knn_accuracy", "alignment", "uniformity", "tolerance",
                "raw_pixel_linear_probe_accuracy", "random_encoder_linear_probe_accuracy"):
        assert 0 <= metrics[key] <= 1 or key in ("alignment", "uniformity"), key
    for name in ("model.safetensors", "config.json", "report.md", "loss_curve.png", "embedding_map.png",
                 "align_uniform.png", "checkpoints/last.ckpt", "logs/csv/metrics.csv"):
        assert (out / name).exists(), name
    model = load_model(out)
    h, z = model(torch.rand(4, 1, 8, 8))
    assert h.shape[0] == 4 and z.shape == (4, 16)
    again = runner.invoke(app, ["evaluate", str(out)])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "metrics.json").read_text())["linear_probe_accuracy"] == pytest.approx(
        metrics["linear_probe_accuracy"])


def test_cli_errors_and_help(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    for command in ("train", "evaluate", "reproduce", "bench", "generate"):
        assert command in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: {max_steps: 3, bogus: 1}\n")
    result = runner.invoke(app, ["train", str(bad), "--output", str(tmp_path / "x")])
    assert result.exit_code == 2 and "trainer.bogus: unknown key" in result.output
    result = runner.invoke(app, ["reproduce", "nope"])
    assert result.exit_code == 2 and "unknown reproduction" in result.output


def test_moco_recipe_trains_and_resumes_exactly(tmp_path: Path):
    moco = TINY | {"method": {"name": "moco", "loss": "infonce", "queue_size": 64, "momentum": 0.9,
                              "loss_kwargs": {"temperature": 0.2, "mode": "a_to_b"}}}
    recipe = parse_recipe(moco)
    train(recipe, tmp_path / "full", progress=False, evaluate=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(recipe, tmp_path / "crashed", progress=False, evaluate=False, callbacks=[_Crash(at_step=6)])
    train(recipe, tmp_path / "crashed", resume=True, progress=False, evaluate=False)
    full = load_file(str(tmp_path / "full" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "crashed" / "model.safetensors"))
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], rtol=0, atol=0, msg=key)
    with pytest.raises(ValueError, match="MoCo needs an InfoNCE-family loss with mode='a_to_b'"):
        train(parse_recipe(moco | {"method": {"name": "moco"}}), tmp_path / "bad", progress=False)


def test_bench_command_is_wired(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """`contrastkit bench losses` calls the repository harness with the given options."""
    import sys
    import types

    calls = []
    fake = types.ModuleType("benchmarks.losses")
    fake.main = lambda argv: calls.append(argv)
    monkeypatch.setitem(sys.modules, "benchmarks", types.ModuleType("benchmarks"))
    monkeypatch.setitem(sys.modules, "benchmarks.losses", fake)
    result = CliRunner().invoke(app, ["bench", "losses", "--json", str(tmp_path / "b.json"), "--quick"])
    assert result.exit_code == 0, result.output
    assert calls == [["--json", str(tmp_path / "b.json"), "--quick"]]
