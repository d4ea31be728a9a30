"""`contrastkit evaluate` and `reproduce` show progress: every training's steps and the evaluation's stages."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import contrastkit as ck
from contrastkit._progress import announce, reporting
from contrastkit.cli import app
from contrastkit.losses import InfoNCE
from contrastkit.methods import SimCLR
from contrastkit.training import make_trainer

from .recipes import tiny_recipe


def _tiny_fit(steps: int) -> None:
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 4))
    ck.fit(SimCLR(encoder=encoder, loss=InfoNCE(0.2), augment=lambda x: x + 0.01 * torch.randn_like(x)),
           data=torch.rand(16, 1, 4, 4), max_steps=steps, batch_size=8)


def test_trainings_report_their_steps_only_while_someone_listens():
    messages: list[str] = []
    with reporting(messages.append):
        _tiny_fit(40)
        _tiny_fit(3)
        announce("done")
    assert messages[0] == "fit 1: step 0/40" and "fit 1: step 40/40" in messages
    assert 10 <= sum(m.startswith("fit 1:") for m in messages) <= 22  # about 20 updates, not one per step
    assert "fit 2: step 3/3" in messages and messages[-1] == "done"
    assert not any("StepProgress" in type(c).__name__ for c in make_trainer(max_steps=1).callbacks)
    announce("nobody hears this")  # no reporter: a no-op
    with pytest.raises(TypeError, match=r"^reporter: expected a callable"), reporting("print"):  # type: ignore[arg-type]
        pass


def test_reproduce_shows_each_trainings_progress(monkeypatch):
    from contrastkit.reproduce import ReproResult

    def fake_reproduction(quick: bool = False) -> ReproResult:
        _tiny_fit(4)
        return ReproResult(name="fake", quick=quick)

    monkeypatch.setattr("contrastkit.papers.get_reproduction", lambda name: fake_reproduction)
    result = CliRunner().invoke(app, ["reproduce", "fake", "--quick"])
    assert result.exit_code == 0, result.output
    assert "reproduce fake --quick: fit 1: step 0/4" in result.stderr
    quiet = CliRunner().invoke(app, ["reproduce", "fake", "--quick", "--no-progress"])
    assert quiet.exit_code == 0 and "fit 1" not in quiet.stderr


def test_evaluate_shows_its_stages(tmp_path: Path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(4)))
    runner = CliRunner()
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", str(recipe), "--output", str(out), "--no-progress"]).exit_code == 0
    result = runner.invoke(app, ["evaluate", str(out)])
    assert result.exit_code == 0, result.output
    for stage in ("loading", "embedding", "linear probe and kNN", "writing report.md"):
        assert stage in result.stderr, (stage, result.stderr)
