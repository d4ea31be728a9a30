"""Reliability catalogue, group "faults and resume": kill -9 at four points, checkpoint integrity,
resume semantics (moved folder, larger max_steps, finished run, recipe changes), temporary-file
clean-up, file permissions, no pickle. The reference is always an uninterrupted run of the same recipe."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import contrastkit
from contrastkit.pipeline.checkpoint import CHECKSUM_KEY, content_digest, load_checkpoint
from contrastkit.pipeline.recipe import parse_recipe
from contrastkit.pipeline.train import train
from tests.recipes import tiny_recipe

TINY = tiny_recipe()


def _recipe(**trainer) -> object:
    return parse_recipe(TINY | {"trainer": TINY["trainer"] | trainer})


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Uninterrupted 12-step and 16-step runs."""
    root = tmp_path_factory.mktemp("reliability-faults")
    train(_recipe(), root / "full12", progress=False, evaluate=False)
    train(_recipe(max_steps=16), root / "full16", progress=False, evaluate=False)
    return root


def _ckpt_names(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


# ---------------------------------------------------------------- kill -9

# One driver process imports torch and Lightning once, then forks one child per kill point; each child
# trains the 12-step recipe and SIGKILLs itself at its point. The driver prints "point status" lines.
_DRIVER = textwrap.dedent("""
    import json, os, signal, sys
    import contrastkit.pipeline.checkpoint as ck
    import contrastkit.pipeline.runfolder as rf
    from lightning.pytorch.callbacks import Callback
    from contrastkit.pipeline.recipe import parse_recipe
    from contrastkit.pipeline.train import train

    def child(run, point, recipe):
        kind, n = point.split(":")
        n = int(n)
        die = lambda: os.kill(os.getpid(), signal.SIGKILL)
        callbacks, calls = [], {"write": 0, "replace": 0}

        class KillAtStep(Callback):
            def on_train_batch_end(self, trainer, *args):
                if trainer.global_step == n:
                    die()

        if kind == "step":
            callbacks.append(KillAtStep())
        elif kind == "write":  # the n-th checkpoint file: half of its bytes written, then killed
            real_fdopen = os.fdopen
            class HalfWriter:
                def __init__(self, fh): self.fh = fh
                def __enter__(self): return self
                def __exit__(self, *exc): return False
                def write(self, data):
                    self.fh.write(data[: len(data) // 2]); self.fh.flush(); die()
            def fdopen(fd, *a, **k):
                calls["write"] += 1
                fh = real_fdopen(fd, *a, **k)
                return HalfWriter(fh) if calls["write"] == n else fh
            ck.os.fdopen = fdopen
        elif kind == "replace":  # before the n-th os.replace: a complete temporary file, not yet renamed
            real_replace = os.replace
            def replace(src, dst):
                calls["replace"] += 1
                if calls["replace"] == n:
                    die()
                real_replace(src, dst)
            ck.os.replace = replace
        elif kind == "export":  # after training: model.safetensors written to its temporary name only
            real_save = rf.save_file
            def save_file(state, path):
                real_save(state, path); die()
            rf.save_file = save_file
        train(recipe, run, progress=False, evaluate=False, callbacks=callbacks)

    root, recipe = sys.argv[1], parse_recipe(json.loads(sys.argv[2]))
    for point in sys.argv[3:]:
        pid = os.fork()
        if pid == 0:
            try:
                child(os.path.join(root, point.replace(":", "-")), point, recipe)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(point, status, flush=True)
""")

# (id, kill point, step of last.ckpt after the kill)
KILL_CASES = [
    ("between-checkpoints-step-6", "step:6", 4),
    ("mid-write-of-step-8-checkpoint", "write:3", 4),
    ("before-rename-of-last-at-step-8", "replace:4", 4),
    ("during-model-export", "export:1", 12),
]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    import json

    root = tmp_path_factory.mktemp("killed")
    env = os.environ | {"PYTHONPATH": str(Path(contrastkit.__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    points = [c[1] for c in KILL_CASES]
    proc = subprocess.run([sys.executable, "-c", _DRIVER, str(root), json.dumps(TINY), *points], env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = dict(line.split() for line in proc.stdout.splitlines() if line.strip())
    return {p: (root / p.replace(":", "-"), int(status[p])) for p in points}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("case", "point", "last_step"), KILL_CASES, ids=[c[0] for c in KILL_CASES])
def test_kill9_then_resume_is_byte_identical(reference: Path, killed, case, point, last_step):
    run, status = killed[point]
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == last_step  # valid, verified
    train(_recipe(), run, resume=True, progress=False, evaluate=False)
    assert (run / "model.safetensors").read_bytes() == (reference / "full12" / "model.safetensors").read_bytes()
    assert _ckpt_names(run) == _ckpt_names(reference / "full12")  # no stray or temporary files
    assert not list(run.glob(".*.tmp"))


# ---------------------------------------------------------------- integrity and resume semantics


def test_checksum_detects_any_changed_tensor_value(reference: Path):
    checkpoint = load_checkpoint(reference / "full12" / "checkpoints" / "last.ckpt")
    assert checkpoint[CHECKSUM_KEY] == content_digest(checkpoint)
    key = next(iter(checkpoint["state_dict"]))
    checkpoint["state_dict"][key].view(-1)[0] += 1e-7
    assert checkpoint[CHECKSUM_KEY] != content_digest(checkpoint)


def test_resume_with_larger_max_steps_equals_uninterrupted_longer_run(reference: Path, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(reference / "full12", run)
    train(_recipe(max_steps=16), run, resume=True, progress=False, evaluate=False)
    a, b = load_file(str(run / "model.safetensors")), load_file(str(reference / "full16" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _ckpt_names(run) == _ckpt_names(reference / "full16") == [
        "last.ckpt", "step-12.ckpt", "step-16.ckpt", "step-4.ckpt", "step-8.ckpt"]
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 16


def test_resume_after_moving_the_folder_reads_and_writes_last_ckpt(reference: Path, tmp_path: Path):
    first = tmp_path / "first"
    train(_recipe(max_steps=8), first, progress=False, evaluate=False)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    shutil.move(first, moved)
    train(_recipe(max_steps=16), moved, resume=True, progress=False, evaluate=False)
    assert _ckpt_names(moved) == _ckpt_names(reference / "full16")  # no last-v1.ckpt
    assert load_checkpoint(moved / "checkpoints" / "last.ckpt")["global_step"] == 16
    assert (moved / "model.safetensors").read_bytes() == (reference / "full16" / "model.safetensors").read_bytes()


def test_resume_of_a_finished_run_trains_nothing_and_writes_no_checkpoint(reference: Path, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(reference / "full12", run)
    (run / "model.safetensors").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()}
    train(_recipe(), run, resume=True, progress=False, evaluate=False)
    assert {p.name: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()} == stamps
    assert (run / "model.safetensors").read_bytes() == (reference / "full12" / "model.safetensors").read_bytes()


def test_allow_recipe_change_continues_and_hardware_keys_need_no_override(reference: Path, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(reference / "full12", run)
    with pytest.raises(ValueError, match=r"different recipe \(optim.lr: 0.001 -> 0.002\)"):
        train(parse_recipe(TINY | {"optim": {"lr": 0.002}}), run, resume=True, progress=False, evaluate=False)
    changed = TINY | {"optim": {"lr": 0.002}, "trainer": TINY["trainer"] | {"max_steps": 14}}
    train(parse_recipe(changed), run, resume=True, progress=False, evaluate=False, allow_recipe_change=True)
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 14
    # logging cadence, threads and evaluation settings do not change the trajectory: no override needed
    relaxed = changed | {"trainer": changed["trainer"] | {"max_steps": 15, "log_every_n_steps": 5,
                                                          "num_threads": 1}, "evaluate": {"knn_k": 3}}
    # the checkpoints written after the override record the recipe that wrote them (lr 0.002)
    train(parse_recipe(relaxed), run, resume=True, progress=False, evaluate=False)
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 15


def test_stale_temporaries_are_removed_on_resume(reference: Path, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(reference / "full12", run)
    for stale in (run / "checkpoints" / ".last.ckpt.abc123.tmp", run / ".model.safetensors.tmp",
                  run / ".metrics.json.x.tmp"):
        stale.write_bytes(b"partial")
    keep = run / "checkpoints" / "notes.tmp"  # not our pattern: left alone
    keep.write_text("mine")
    train(_recipe(), run, resume=True, progress=False, evaluate=False)
    assert not list(run.glob(".*.tmp")) and not list((run / "checkpoints").glob(".*.tmp"))
    assert keep.read_text() == "mine"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_run_folder_files_respect_the_umask(tmp_path: Path, umask: int):
    old = os.umask(umask)
    try:
        train(_recipe(max_steps=4), tmp_path / "run", progress=False, evaluate=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "last.ckpt" for p in files) and any(p.name == "config.json" for p in files)
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes


# The one reader of a packaged Python-2 pickle (gensim's mini 20 Newsgroups) overrides find_class with an
# allow-list of data classes (tests/test_text_corpora.py shows a foreign class refused): it runs no code
# named by the file. No other module may import pickle.
ALLOW_LISTED_UNPICKLERS = {"text/corpora.py": "class _BunchUnpickler(pickle.Unpickler)"}


def test_no_pickle_anywhere_in_the_package():
    root = Path(contrastkit.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in match.group(1):
                offenders.append(f"{path.name}: {match.group(0)}")
        allowed = ALLOW_LISTED_UNPICKLERS.get(path.relative_to(root).as_posix())
        if allowed is not None and allowed in text and "def find_class" in text:
            continue
        if re.search(r"^\s*(import pickle|from pickle import|import dill|import cloudpickle)", text, re.M):
            offenders.append(f"{path.name}: imports pickle")
    assert not offenders, offenders
