"""``contrastkit audit``: report plumbing and one-line errors (exit 2) in seconds; the detection itself (flags a
poisoned mini-CLIP, passes clean ones) on the miniature's victims in the slow tests (minutes of CPU)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app

# a tiny audit: plumbing only (an untrained encoder; the verdict is not checked)
TINY = ["--uap-steps", "2", "--inversion-steps", "2", "--clean-images", "60"]


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """A save_pretrained folder of an untrained small CNN (no dataset in its metadata)."""
    from contrastkit.pretrained import save_pretrained
    from contrastkit.vision.encoders import SmallCNN

    torch.manual_seed(0)
    return save_pretrained(SmallCNN(1, (4, 8)), tmp_path_factory.mktemp("audit") / "cnn")


def test_audit_writes_the_report_and_exits_0_or_1(untrained, tmp_path):
    res = CliRunner().invoke(app, ["audit", str(untrained), "--data", "digits", "--out", str(tmp_path / "rep"), *TINY])
    assert res.exit_code in (0, 1), res.output
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert report["backdoor"] is (res.exit_code == 1)
    assert report["head"] == "class prototypes of the clean set" and report["data"]["dataset"] == "digits"
    assert len(report["uap_share_increase"]) == 10 and len(report["reference_targets"]) == 2
    assert report["suspected_target"] not in report["reference_targets"]
    assert report["verdict"].splitlines()[0] in res.output
    assert (tmp_path / "rep" / "inverted_trigger.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "inverted_trigger.png" in (tmp_path / "rep" / "audit.md").read_text()


def test_audit_reads_a_train_run_folder_and_its_dataset(tmp_path):
    """A `contrastkit train` run folder: the backbone is audited on the recipe's dataset (no --data)."""
    import yaml

    from tests.recipes import tiny_recipe

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(max_steps=2)))
    run = tmp_path / "run"
    trained = CliRunner().invoke(app, ["train", str(recipe), "--output", str(run), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    res = CliRunner().invoke(app, ["audit", str(run), "--out", str(tmp_path / "rep"), *TINY])
    assert res.exit_code in (0, 1), res.output
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert report["data"] == {"dataset": "digits", "upsample": 1}
    assert report["head"] == "class prototypes of the clean set"


def test_audit_config_rejects_bad_settings():
    from contrastkit.backdoor.audit import AuditConfig

    with pytest.raises(ValueError, match="min_asr"):
        AuditConfig(min_asr=1.5)
    with pytest.raises(ValueError, match="inversion_steps"):
        AuditConfig(inversion_steps=0)


@pytest.mark.parametrize("case", ["missing", "empty_folder", "file", "bad_json", "unknown_data", "no_data",
                                  "wrong_shape"])
def test_bad_input_is_one_line_exit_2(case, untrained, tmp_path):
    path = tmp_path / "x"
    extra: list[str] = []
    if case == "empty_folder":
        path.mkdir()
    elif case == "file":
        path.write_text("not a model")
    elif case == "bad_json":
        path.mkdir()
        (path / "config.json").write_text("{not json")
    elif case == "unknown_data":
        path, extra = untrained, ["--data", "nope"]
    elif case == "no_data":
        path = untrained
    elif case == "wrong_shape":  # 3-channel images for a 1-channel encoder
        from contrastkit.pretrained import save_pretrained
        from contrastkit.vision.encoders import SmallCNN

        path, extra = save_pretrained(SmallCNN(3, (4,)), tmp_path / "rgb"), ["--data", "digits"]
    res = CliRunner().invoke(app, ["audit", str(path), "--out", str(tmp_path / "rep"), *TINY, *extra])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.output


@pytest.fixture(scope="module")
def victims(tmp_path_factory):
    """The miniature's poisoned mini-CLIP (seed 0) and its clean twin, full pre-training (the audit's
    thresholds were set on this pair)."""
    from contrastkit.papers.invertune.reproduce import save_victim

    root = tmp_path_factory.mktemp("audit")
    return {kind: save_victim(root / kind, 0, poisoned=kind == "poisoned")
            for kind in ("poisoned", "clean")}


def _audit(path, out, *extra):
    return CliRunner().invoke(app, ["audit", str(path), "--out", str(out), *extra])


@pytest.mark.slow
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


@pytest.mark.slow
def test_audit_passes_the_clean_model(victims, tmp_path):
    res = _audit(victims["clean"], tmp_path / "rep")
    assert res.exit_code == 0, res.output
    assert "no backdoor found" in res.output
    assert json.loads((tmp_path / "rep" / "audit.json").read_text())["backdoor"] is False


@pytest.mark.slow
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


@pytest.mark.slow
def test_false_positive_rate_over_three_clean_seeds(tmp_path):
    """The full audit (default settings) passes the clean victims of seeds 1-3 (the thresholds were set on
    seed 0). The measured rates, the detection misses on poisoned seeds 1-2 included, are in docs/security.md."""
    from contrastkit.papers.invertune.reproduce import save_victim

    flagged = []
    for seed in (1, 2, 3):
        folder = save_victim(tmp_path / f"clean{seed}", seed, poisoned=False)
        res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / f"rep{seed}")])
        assert res.exit_code in (0, 1), res.output
        flagged.append(res.exit_code == 1)
    assert sum(flagged) == 0, f"false positives on clean seeds 1-3: {flagged}"


def test_audit_reads_the_dataset_of_a_clip_train_run(tmp_path):
    """`contrastkit train clip-digits` writes a model folder with recipe.json beside it: the audit reads the
    dataset from there (it asked for --data before)."""
    run = tmp_path / "clip"
    trained = CliRunner().invoke(app, ["train", "clip-digits", "--output", str(run), "--set", "trainer.max_steps=1",
                                       "--no-progress"])
    assert trained.exit_code == 0, trained.output
    res = CliRunner().invoke(app, ["audit", str(run), "--out", str(tmp_path / "rep"), *TINY])
    assert res.exit_code in (0, 1), res.output
    assert json.loads((tmp_path / "rep" / "audit.json").read_text())["data"]["dataset"] == "digits_canvas"


@pytest.mark.parametrize("case", ["time_series_model", "out_is_a_file", "out_under_a_file", "seed_too_large",
                                  "too_few_clean_images", "upsample_too_large",
                                  "more_clean_images_than_the_split"])
def test_more_bad_input_is_one_line_naming_the_argument(case, untrained, tmp_path):
    """Each is refused naming the option, and a bad --out before the audit runs (not after minutes)."""
    import time

    afile = tmp_path / "afile"
    afile.write_text("x")
    path, extra, name = untrained, ["--data", "digits"], {
        "time_series_model": "path", "out_is_a_file": "out", "out_under_a_file": "out",
        "seed_too_large": "seed", "too_few_clean_images": "clean_images", "upsample_too_large": "upsample",
        "more_clean_images_than_the_split": "clean_images"}[case]
    out = tmp_path / "rep"
    opts = list(TINY)
    if case == "time_series_model":
        from contrastkit.pretrained import save_pretrained
        from contrastkit.timeseries.encoder import TSEncoder

        path = save_pretrained(TSEncoder(1, 8, 4, 2), tmp_path / "ts")
    elif case == "out_is_a_file":
        out = afile
    elif case == "out_under_a_file":
        out = afile / "sub"
    elif case == "seed_too_large":
        extra += ["--seed", str(2**70)]
    elif case == "upsample_too_large":  # was an allocator traceback and exit 1, the "backdoor suspected" status
        extra += ["--upsample", "100000"]
    elif case == "more_clean_images_than_the_split":  # silently drew fewer, the report saying 100000
        opts[-1] = "100000"
    else:
        opts[-1] = "5"  # 5 clean images cannot hold the 10 digit classes
    start = time.perf_counter()
    res = CliRunner().invoke(app, ["audit", str(path), "--out", str(out), *opts, *extra,
                                   *(["--uap-steps", "500", "--inversion-steps", "500"] if "out" in case else [])])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {name}: "), res.output
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize("asr,mask,refs,flagged", [
    (1.0, 0.05, [0.10, 0.12], True),    # a shortcut: half the references' mask, full ASR
    (0.7, 0.3, [0.5, 0.5], True),       # both thresholds inclusive (ratio 0.6)
    (0.69, 0.02, [0.10, 0.10], False),  # small mask but the trigger does not work
    (1.0, 0.061, [0.10, 0.10], False),  # works, but the references need no larger mask
    (1.0, 0.04, [0.01, 0.30, 0.08], True),  # the median reference (0.08), not the smallest
])
def test_the_verdict_flags_and_passes(asr, mask, refs, flagged):
    """The decision rule in seconds (the slow tests run it on the real victims)."""
    import statistics

    from contrastkit.backdoor.audit import shortcut_verdict

    got, ratio = shortcut_verdict(asr, mask, refs)
    assert got is flagged and ratio == pytest.approx(mask / statistics.median(refs))


def test_a_model_returning_a_tuple_is_a_named_error(monkeypatch):
    """An image module whose forward returns a tuple (features, extras) is refused naming `path`."""
    from torch import nn

    import contrastkit.backdoor.audit as audit_mod

    class Pair(nn.Module):
        def forward(self, x):
            return x.flatten(1), x.mean()

    monkeypatch.setattr(audit_mod, "load_for_audit", lambda path: (Pair(), None, {"dataset": "digits"}))
    with pytest.raises(ValueError, match="^path: "):
        audit_mod.audit_path("m", config=audit_mod.AuditConfig(clean_images=60, uap_steps=1, inversion_steps=1))


@pytest.mark.parametrize("spec", [{"dataset": "digits", "upsample": "two"}, {"dataset": "digits", "upsample": 2.5},
                                  {"dataset": 3}])
def test_a_bad_metadata_data_spec_names_path(spec, tmp_path):
    from contrastkit.backdoor.audit import AuditConfig, audit_path
    from contrastkit.pretrained import save_pretrained
    from contrastkit.vision.encoders import SmallCNN

    folder = save_pretrained(SmallCNN(1, (4,)), tmp_path / "m", metadata={"data": spec})
    with pytest.raises(ValueError, match="^path: .*metadata.data"):
        audit_path(folder, config=AuditConfig(clean_images=60, uap_steps=1, inversion_steps=1))


def test_an_internal_failure_exits_3_not_the_backdoor_status(untrained, tmp_path, monkeypatch):
    import contrastkit.backdoor.audit as audit_module

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure inside the audit")

    monkeypatch.setattr(audit_module, "audit_path", broken)
    res = CliRunner().invoke(app, ["audit", str(untrained), "--data", "digits", "--out", str(tmp_path / "rep"), *TINY])
    assert res.exit_code == 3, res.output
    assert "the audit failed" in res.output and "simulated failure inside the audit" in res.output
