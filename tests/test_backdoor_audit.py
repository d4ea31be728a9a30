"""``contrastkit audit``: flags a poisoned mini-CLIP, passes a clean one, one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from contrastkit.cli import app

# a reduced audit (fewer steps, a smaller clean set) on victims pre-trained for 10 epochs: seconds, not minutes
FAST = ["--uap-steps", "30", "--inversion-steps", "100", "--clean-images", "200"]


@pytest.fixture(scope="module")
def victims(tmp_path_factory):
    from contrastkit.papers.invertune.reproduce import save_victim

    root = tmp_path_factory.mktemp("audit")
    return {kind: save_victim(root / kind, 0, poisoned=kind == "poisoned", epochs=10)
            for kind in ("poisoned", "clean")}


def _audit(path, out, *extra):
    return CliRunner().invoke(app, ["audit", str(path), "--out", str(out), *FAST, *extra])


def test_audit_flags_the_poisoned_model(victims, tmp_path):
    res = _audit(victims["poisoned"], tmp_path / "rep")
    assert res.exit_code == 1, res.output
    assert "BACKDOOR SUSPECTED" in res.output and "suspected target class 0" in res.output
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert report["backdoor"] is True and report["suspected_target"] == 0
    assert report["inverted_asr"] >= 0.7 and report["mask_ratio"] <= 0.6
    assert report["head"] == "zero-shot prompts"
    png = (tmp_path / "rep" / "inverted_trigger.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "inverted_trigger.png" in (tmp_path / "rep" / "audit.md").read_text()


def test_audit_passes_the_clean_model(victims, tmp_path):
    res = _audit(victims["clean"], tmp_path / "rep")
    assert res.exit_code == 0, res.output
    assert "no backdoor found" in res.output
    assert json.loads((tmp_path / "rep" / "audit.json").read_text())["backdoor"] is False


def test_audit_with_class_prototypes_when_no_prompts_are_stored(victims, tmp_path):
    """Without stored prompts the audit reads the image tower through class prototypes of the clean set."""
    import shutil

    folder = tmp_path / "noprompts"
    shutil.copytree(victims["poisoned"], folder)
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["metadata"]["class_prompt_tokens"]
    (folder / "config.json").write_text(json.dumps(cfg))
    res = _audit(folder, tmp_path / "rep")
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert report["head"] == "class prototypes of the clean set"
    assert res.exit_code in (0, 1) and report["suspected_target"] in range(10)


@pytest.mark.parametrize("case", ["missing", "empty_folder", "file", "bad_json", "wrong_data"])
def test_bad_input_is_one_line_exit_2(case, victims, tmp_path):
    path = tmp_path / "x"
    extra: list[str] = []
    if case == "empty_folder":
        path.mkdir()
    elif case == "file":
        path.write_text("not a model")
    elif case == "bad_json":
        path.mkdir()
        (path / "config.json").write_text("{not json")
    elif case == "wrong_data":
        path, extra = victims["poisoned"], ["--data", "nope"]
    res = _audit(path, tmp_path / "rep", *extra)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.output


@pytest.mark.slow
def test_false_positive_rate_over_three_clean_seeds(tmp_path):
    """The full audit (default settings) on full-length victims: flags the poisoned one, passes clean seeds
    1-3 (the thresholds were set on seed 0). The measured rate is in docs/security.md."""
    from contrastkit.papers.invertune.reproduce import save_victim

    flagged = []
    for seed in (1, 2, 3):
        folder = save_victim(tmp_path / f"clean{seed}", seed, poisoned=False)
        res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / f"rep{seed}")])
        assert res.exit_code in (0, 1), res.output
        flagged.append(res.exit_code == 1)
    assert sum(flagged) == 0, f"false positives on clean seeds 1-3: {flagged}"
    folder = save_victim(tmp_path / "poisoned1", 1, poisoned=True)
    assert CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / "repp")]).exit_code == 1
