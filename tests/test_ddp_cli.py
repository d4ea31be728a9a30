"""`contrastkit train ... --devices 2 --strategy ddp` on CPU (gloo): two processes, one run folder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.test_pipeline import TINY


def test_two_process_ddp_training(tmp_path: Path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(TINY | {"evaluate": {"baselines": False}}))
    exe = shutil.which("contrastkit", path=str(Path(sys.executable).parent))
    assert exe, "the contrastkit console script is not installed in this environment"
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    out = tmp_path / "run"
    result = subprocess.run(
        [exe, "train", str(recipe), "--output", str(out), "--devices", "2", "--strategy", "ddp",
         "--max-steps", "6", "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["linear_probe_accuracy"] <= 1
    assert (out / "checkpoints" / "last.ckpt").exists()
    assert "distributed_backend=gloo" in result.stderr + result.stdout or "2 processes" in result.stderr + result.stdout
