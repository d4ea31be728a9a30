"""Reliability catalogue, group "bad input": each case is one CLI call that must print ONE line
``error: ...`` naming what is wrong and exit with status 2 (no traceback, no huge message)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.pipeline.recipe import parse_recipe
from contrastkit.pipeline.train import train

TINY = {
    "name": "tiny",
    "seed": 3,
    "data": {"dataset": "digits", "augment": "canvas"},
    "model": {"encoder": "small_cnn", "encoder_kwargs": {"widths": [8, 16]}, "projector_out_dim": 16},
    "method": {"name": "simclr", "loss": "infonce", "loss_kwargs": {"temperature": 0.2}},
    "trainer": {"max_steps": 4, "batch_size": 32, "checkpoint_every_n_steps": 4, "log_every_n_steps": 1},
    "evaluate": {"baselines": False},
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step run folder and its recipe file."""
    root = tmp_path_factory.mktemp("reliability-input")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    train(parse_recipe(TINY), root / "run", progress=False, evaluate=False)
    return root


def _bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text + "name: *i\n"


# ---- recipe files and --set (train): (id, recipe text or None for tiny.yaml, extra CLI args, expected text)
TRAIN_CASES = [
    ("set-invalid-yaml", None, ["--set", "trainer.max_steps=[1"], "not valid YAML"),
    ("set-python-tag", None, ["--set", "name=!!python/object/apply:os.system ['true']"], "not valid YAML"),
    ("set-max-steps-1e30-string", None, ["--set", "trainer.max_steps=1e30"], "trainer.max_steps"),
    ("set-max-steps-1e30-float", None, ["--set", "trainer.max_steps=1.0e+30"], "trainer.max_steps"),
    ("set-without-equals", None, ["--set", "trainer.max_steps"], "key.path=value"),
    ("set-into-scalar", None, ["--set", "name.x=1"], "not a mapping"),
    ("set-empty-key", None, ["--set", "trainer..x=1"], "dotted key"),
    ("set-alias", None, ["--set", "name=*x"], "--set name"),
    # lax types: the schema coerced these silently (strict now, as the paper recipes)
    ("set-max-steps-quoted", None, ["--set", 'trainer.max_steps="200"'], "remove the quotes"),
    ("set-max-steps-yes", None, ["--set", "trainer.max_steps=yes"],
     "trainer.max_steps: Input should be a valid integer"),
    ("set-seed-true", None, ["--set", "seed=true"], "seed: Input should be a valid integer"),
    ("set-seed-negative", None, ["--set", "seed=-1"], "seed: Input should be greater than or equal to 0"),
    ("set-seed-2-70", None, ["--set", f"seed={2**70}"], "seed: Input should be less than or equal to 4294967295"),
    ("set-seed-5000-digits", None, ["--set", "seed=" + "9" * 5000], "--set seed: value out of range"),
    ("set-baselines-yes-string", None, ["--set", "evaluate.baselines='yes'"], "evaluate.baselines: Input should be"),
    ("set-lr-inf", None, ["--set", "optim.lr=.inf"], "optim.lr: Input should be a finite number"),
    ("recipe-lr-1e-3", yaml.safe_dump(TINY) + "optim: {lr: 1e-3}\n", [], "write 1.0e-3"),
    ("recipe-alias-bomb", _bomb(), [], "expands to more than"),
    ("recipe-5000-levels", "a: " + "[" * 5000 + "]" * 5000 + "\n", [], "nested deeper than"),
    ("recipe-too-large", "name: x\n" + "#" * 2_000_000 + "\n", [], "bytes, more than"),
    ("recipe-not-utf8", b"name: \xff\xfe\n", [], "UTF-8"),
    ("recipe-control-characters", b"\x00\x01\x02", [], "unacceptable character #x0000"),
    ("recipe-top-level-list", "- 1\n- 2\n", [], "expected a mapping"),
    ("recipe-python-tag", "name: !!python/object/apply:os.system ['true']\n", [], "not valid YAML"),
    ("recipe-unknown-key", "trainer: {max_steps: 3, bogus: 1}\n", [], "trainer.bogus: unknown key"),
    ("model-360-GB", None, ["--set", "model.projector_hidden_dim=1000000000",
                            "--set", "model.encoder_kwargs={widths: [100000, 100000]}"], "GiB of weights"),
    ("accelerator-unknown", None, ["--set", "trainer.accelerator=bogus"], "trainer: accelerator='bogus'"),
    ("accelerator-tpu-absent", None, ["--set", "trainer.accelerator=tpu"], "trainer: accelerator='tpu'"),
    pytest.param("accelerator-gpu-absent", None, ["--set", "trainer.accelerator=gpu"], "trainer: accelerator='gpu'",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
                 id="accelerator-gpu-absent"),
    ("recipe-is-folder", "<folder>", [], "is a folder"),
    ("recipe-missing", "<missing>", [], "file not found"),
]


@pytest.mark.parametrize(("case", "text", "args", "expected"), TRAIN_CASES,
                         ids=[c[0] if isinstance(c, tuple) else c.id for c in TRAIN_CASES])
def test_train_bad_input_is_one_error_line(base: Path, tmp_path: Path, case, text, args, expected):
    recipe = base / "tiny.yaml"
    if text == "<folder>":
        recipe = tmp_path
    elif text == "<missing>":
        recipe = tmp_path / "missing.yaml"
    elif text is not None:
        recipe = tmp_path / "recipe.yaml"
        recipe.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = CliRunner().invoke(app, ["train", str(recipe), "--output", str(tmp_path / "out"), "--no-progress",
                                      *args])
    _assert_one_error_line(result, expected)


# ---- output folder and resume (train): (id, how to prepare the output, extra args, expected text)
def _scramble_tensor_record(ckpt: Path) -> None:
    """Overwrite 4 KB (or the whole record if smaller) in the middle of the largest tensor record."""
    import zipfile

    with zipfile.ZipFile(ckpt) as zf:
        records = [i for i in zf.infolist() if "/data/" in i.filename]
        info = max(records, key=lambda i: i.file_size)
    raw = bytearray(ckpt.read_bytes())
    head = info.header_offset  # local file header: 30 bytes, then the name and the extra field
    name_len = int.from_bytes(raw[head + 26:head + 28], "little")
    extra_len = int.from_bytes(raw[head + 28:head + 30], "little")
    start = head + 30 + name_len + extra_len
    n = min(4096, info.file_size)
    offset = start + (info.file_size - n) // 2
    g = torch.Generator().manual_seed(0)
    raw[offset:offset + n] = bytes(torch.randint(0, 256, (n,), generator=g, dtype=torch.uint8).tolist())
    ckpt.write_bytes(bytes(raw))


def _prepare(base: Path, tmp_path: Path, how: str) -> Path:
    out = tmp_path / "out"
    if how == "under-file":  # a file on the way: the folder cannot be created
        out.write_text("not a folder")
        return out / "run"
    if how == "file":
        out.write_text("not a folder")
    elif how == "checkpoints-file":
        out.mkdir()
        (out / "checkpoints").write_text("x")
    elif how != "empty":
        shutil.copytree(base / "run", out)
        last = out / "checkpoints" / "last.ckpt"
        if how == "no-checkpoint":
            shutil.rmtree(out / "checkpoints")
        elif how == "garbage":
            last.write_bytes(b"not a checkpoint")
        elif how == "foreign":
            torch.save({"state_dict": {"w": torch.zeros(2)}, "global_step": 4}, last)
        elif how == "scrambled":
            _scramble_tensor_record(last)
    return out


RESUME_CASES = [
    ("output-is-file", "file", [], "is not a folder"),
    ("output-under-a-file", "under-file", [], "is a file, so"),
    ("output-checkpoints-is-file", "checkpoints-file", ["--resume"], "is not a folder"),
    ("output-has-checkpoints", "run", [], "already holds checkpoints"),
    ("resume-no-checkpoint", "no-checkpoint", ["--resume"], "no checkpoint"),
    ("resume-garbage", "garbage", ["--resume"], "is corrupt or not a checkpoint"),
    ("resume-foreign", "foreign", ["--resume"], "no contrastkit checksum"),
    ("resume-scrambled-tensor", "scrambled", ["--resume"], "does not match the SHA-256"),
    ("resume-other-loss", "run", ["--resume", "--set", "method.loss=dcl"], "method.loss: 'infonce' -> 'dcl'"),
    ("resume-other-seed", "run", ["--resume", "--set", "seed=4"], "seed: 3 -> 4"),
    ("resume-other-lr", "run", ["--resume", "--set", "optim.lr=0.01"], "optim.lr: 0.001 -> 0.01"),
    ("resume-fewer-steps", "run", ["--resume", "--set", "trainer.max_steps=2"], "below the checkpoint's step 4"),
]


@pytest.mark.parametrize(("case", "how", "args", "expected"), RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_train_bad_output_or_checkpoint_is_one_error_line(base: Path, tmp_path: Path, case, how, args, expected):
    out = _prepare(base, tmp_path, how)
    before = sorted(p.name for p in (out / "checkpoints").iterdir()) if (out / "checkpoints").is_dir() else None
    result = CliRunner().invoke(app, ["train", str(base / "tiny.yaml"), "--output", str(out), "--no-progress", *args])
    _assert_one_error_line(result, expected)
    if before is not None:  # a refused resume writes nothing
        assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


# ---- run folders (evaluate): (id, damage, expected text)
def _damage(run: Path, how: str) -> None:
    weights, config = run / "model.safetensors", run / "config.json"
    state = load_file(str(weights))
    cfg = json.loads(config.read_text())
    if how == "wrong-shape":
        key = next(k for k in state if state[k].dim() == 2)
        state[key] = torch.zeros(state[key].shape[0] + 1, state[key].shape[1])
        save_file(state, str(weights))
    elif how == "missing-key":
        state.pop(sorted(state)[0])
        save_file(state, str(weights))
    elif how == "extra-key":
        state["bogus.weight"] = torch.zeros(3)
        save_file(state, str(weights))
    elif how == "wrong-dtype":
        key = next(k for k in state if state[k].is_floating_point())
        state[key] = state[key].half()
        save_file(state, str(weights))
    elif how == "nan-weights":
        key = next(k for k in state if state[k].is_floating_point())
        state[key] = torch.full_like(state[key], float("nan"))
        save_file(state, str(weights))
    elif how == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "not-safetensors":
        weights.write_bytes(b"\x00" * 64)
    elif how == "missing-weights":
        weights.unlink()
    elif how == "config-not-json":
        config.write_text("{not json")
    elif how == "config-list":
        config.write_text("[1, 2]")
    elif how == "config-no-recipe":
        config.write_text(json.dumps({"input_shape": [1, 8, 8]}))
    elif how == "config-empty-input-shape":
        config.write_text(json.dumps(cfg | {"input_shape": []}))
    elif how == "config-bad-input-shape":
        config.write_text(json.dumps(cfg | {"input_shape": [1, "8", -8]}))
    elif how == "config-bad-recipe":
        cfg["recipe"]["trainer"]["max_steps"] = "many"
        config.write_text(json.dumps(cfg))
    elif how == "config-360-GB":
        cfg["recipe"]["model"]["projector_hidden_dim"] = 10**9
        cfg["recipe"]["model"]["encoder_kwargs"] = {"widths": [100000, 100000]}
        config.write_text(json.dumps(cfg))
    elif how == "config-deep":
        config.write_text("[" * 100000 + "]" * 100000)


EVALUATE_CASES = [
    ("safetensors-wrong-shape", "wrong-shape", "expected shape"),
    ("safetensors-missing-key", "missing-key", "keys do not match the model of config.json (missing"),
    ("safetensors-extra-key", "extra-key", "unexpected bogus.weight"),
    ("safetensors-wrong-dtype", "wrong-dtype", "F16"),
    ("safetensors-nan-weights", "nan-weights", "contains NaN or inf weights"),
    ("safetensors-truncated", "truncated", "model.safetensors"),
    ("not-safetensors", "not-safetensors", "not a readable safetensors file"),
    ("weights-missing", "missing-weights", "has no model.safetensors"),
    ("config-not-json", "config-not-json", "not valid JSON"),
    ("config-list", "config-list", "expected a JSON object"),
    ("config-no-recipe", "config-no-recipe", "has no 'recipe' object"),
    ("config-empty-input-shape", "config-empty-input-shape", "input_shape: expected [channels, height, width]"),
    ("config-bad-input-shape", "config-bad-input-shape", "input_shape"),
    ("config-bad-recipe", "config-bad-recipe", "trainer.max_steps"),
    ("config-360-GB", "config-360-GB", "GiB of weights"),
    ("config-deep-json", "config-deep", "config.json"),
    ("not-a-folder", "<missing>", "is not a folder"),
]


@pytest.mark.parametrize(("case", "how", "expected"), EVALUATE_CASES, ids=[c[0] for c in EVALUATE_CASES])
def test_evaluate_bad_run_folder_is_one_error_line(base: Path, tmp_path: Path, case, how, expected):
    run = tmp_path / "run"
    if how != "<missing>":
        shutil.copytree(base / "run", run)
        _damage(run, how)
    result = CliRunner().invoke(app, ["evaluate", str(run)])
    _assert_one_error_line(result, expected)


def _assert_one_error_line(result, expected: str) -> None:
    output = result.output
    assert result.exit_code == 2, output[-3000:]
    assert "Traceback" not in output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, output[-3000:]
    assert len(errors[0]) < 2100, len(errors[0])
    assert expected in errors[0], errors[0]
