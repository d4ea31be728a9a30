"""Reliability catalogue, group "optional data and YAML bounds": the suite passes with and without the
optional Debian data, downloads are checked against the published MD5s, the YAML loader is bounded."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import contrastkit
from contrastkit import _yaml
from contrastkit.vision import data as vdata


@pytest.fixture
def no_system_copies(tmp_path, monkeypatch):
    monkeypatch.setattr(vdata, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(vdata, "CACHE_DIR", tmp_path / "no-cache")
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    monkeypatch.delenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", raising=False)
    vdata._fashion_arrays.cache_clear()
    yield tmp_path
    vdata._fashion_arrays.cache_clear()


def _idx_gz(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as fh:
        fh.write(header + array.astype(np.uint8).tobytes())
    return buffer.getvalue()


def _fake_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    files = {}
    for split, n in (("train", 6), ("test", 4)):
        img, lab = vdata.FASHION_MNIST_FILES[split]
        files[img] = _idx_gz(rng.integers(0, 256, size=(n, 28, 28)))
        files[lab] = _idx_gz(np.arange(n) % 10)
    return files


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    fetched: list[str] = []

    def urlopen(url, timeout=None):  # noqa: ANN001
        name = url.rsplit("/", 1)[-1]
        fetched.append(name)
        return _Response(files[name])

    monkeypatch.setattr(vdata.urllib.request, "urlopen", urlopen)
    return fetched


def test_published_md5_table_is_the_official_one():
    # the "Get the Data" table of github.com/zalandoresearch/fashion-mnist (README), copied by hand
    assert vdata.FASHION_MNIST_MD5 == {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }


def test_download_with_wrong_md5_is_refused_and_not_kept(no_system_copies, monkeypatch):
    _serve(monkeypatch, _fake_files())  # valid IDX files, but not the published bytes
    with pytest.raises(FileNotFoundError, match="does not match the published"):
        vdata.load_fashion_mnist("train")
    assert not list((no_system_copies / "no-cache" / "fashion-mnist").iterdir())


def test_download_with_matching_md5_is_kept(no_system_copies, monkeypatch):
    files = _fake_files()
    monkeypatch.setattr(vdata, "FASHION_MNIST_MD5", {k: hashlib.md5(v).hexdigest() for k, v in files.items()})
    fetched = _serve(monkeypatch, files)
    split = vdata.load_fashion_mnist("test")
    assert len(split) == 4 and sorted(fetched) == sorted(files)
    assert {p.name for p in (no_system_copies / "no-cache" / "fashion-mnist").iterdir()} == set(files)


def test_hidden_optional_data_ignores_every_system_copy(no_system_copies, monkeypatch):
    files = _fake_files()
    for folder in (no_system_copies / "no-debian", no_system_copies / "env" / "fashion-mnist",
                   no_system_copies / "mine"):
        folder.mkdir(parents=True)
        for name, payload in files.items():
            (folder / name).write_bytes(payload)
    monkeypatch.setenv("CONTRASTKIT_DATA", str(no_system_copies / "env"))
    assert vdata.fashion_mnist_available()
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    fetched = _serve(monkeypatch, files)
    assert not vdata.fashion_mnist_available()
    with pytest.raises(FileNotFoundError, match="CONTRASTKIT_HIDE_OPTIONAL_DATA"):
        vdata.load_fashion_mnist("train")
    assert fetched == []  # no download either
    assert len(vdata.load_fashion_mnist("test", root=no_system_copies / "mine")) == 4  # explicit roots still work


def test_hidden_fortunes(monkeypatch, tmp_path):
    from contrastkit.generation import smollm2_eval

    (tmp_path / "computers").write_text(" ".join(["word"] * 30) + "\n%\n")
    monkeypatch.setattr(smollm2_eval, "FORTUNES_DIR", tmp_path)
    monkeypatch.delenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", raising=False)
    assert smollm2_eval.fortunes_available() and len(smollm2_eval.fortune_prompts(n=1)) == 1
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    assert not smollm2_eval.fortunes_available()
    with pytest.raises(FileNotFoundError, match="hidden"):
        smollm2_eval.fortune_prompts()


@pytest.mark.timeout(120)
def test_suite_skips_data_tests_with_a_reason_when_data_is_hidden():
    """The failing case of a fresh machine: the quick clip reproduction needs Fashion-MNIST."""
    repo = Path(__file__).resolve().parents[1]
    env = os.environ | {"CONTRASTKIT_HIDE_OPTIONAL_DATA": "1",
                        "PYTHONPATH": str(Path(contrastkit.__file__).parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_multimodal_repro.py::test_quick_reproduction_runs_and_reports[clip]",
         "tests/test_vision_data.py::test_fashion_mnist_debian_files"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 skipped" in proc.stdout and "Fashion-MNIST is not on this machine" in proc.stdout, proc.stdout[-2000:]


# ---------------------------------------------------------------- bounded YAML

YAML_CASES = [
    ("alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
     {}, "expands to more than"),
    ("too-many-aliases", "a: &a 1\nb: [" + ", ".join(["*a"] * 200) + "]\n", {}, "more than 128 aliases"),
    ("deep-flow", "[" * 5000 + "]" * 5000, {}, "nested deeper than 64"),
    ("deep-block", "".join("  " * i + "k:\n" for i in range(100)), {}, "nested deeper than 64"),
    ("too-large", "x: " + "y" * 100, {"max_bytes": 50}, "more than the 50 accepted"),
    ("python-tag", "!!python/object/apply:os.system ['true']", {}, "not valid YAML"),
    ("syntax", "a: [1", {}, "not valid YAML"),
    ("two-documents", "a: 1\n---\nb: 2\n", {}, "not valid YAML"),
    ("duplicate-key", "seed: 3\nname: x\nseed: 4\n", {}, "duplicate key 'seed' \\(line 3\\)"),
    ("duplicate-nested-key", "a: {b: 1, b: 2}", {}, "duplicate key 'b'"),
    ("control-characters", "a: \x00\x01", {}, "not valid YAML: unacceptable character #x0000"),
    ("integer-5000-digits", "seed: " + "9" * 5000, {}, "value out of range"),
]


@pytest.mark.parametrize(("case", "text", "kwargs", "expected"), YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_bounded_yaml_refuses(case, text, kwargs, expected):
    with pytest.raises(_yaml.YAMLLimitError, match=expected) as info:
        _yaml.load_yaml(text, **kwargs)
    assert len(str(info.value)) < 400 and "\n" not in str(info.value)


def test_bounded_yaml_accepts_ordinary_documents_like_safe_load(tmp_path: Path):
    import yaml

    text = "base: &b {lr: 0.001, wd: 0}\nrun:\n  <<: *b\n  steps: [1, 2, 3]\nname: x\nflag: yes\n"
    assert _yaml.load_yaml(text) == yaml.safe_load(text)
    overriding_merge = "base: &b {lr: 0.001, wd: 0}\nrun:\n  <<: *b\n  lr: 0.01\n"  # not a duplicate key
    assert _yaml.load_yaml(overriding_merge) == yaml.safe_load(overriding_merge)
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert _yaml.load_yaml(path) == yaml.safe_load(text)
    assert _yaml.load_yaml("") is None
    assert _yaml.load_yaml("[" * 10 + "]" * 10, max_depth=11) == [[[[[[[[[[]]]]]]]]]]
    with pytest.raises(TypeError, match="text_or_path"):
        _yaml.load_yaml(b"a: 1")
