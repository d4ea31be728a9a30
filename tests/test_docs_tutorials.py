"""The tutorials' code runs as written: each page's ```python blocks are executed in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NEEDS = {"images.md": ["kornia", "PIL"], "image-text.md": [], "timeseries.md": ["aeon"], "own-data.md": [],
         "speech.md": ["soundfile", "librosa"],
         "text.md": ["sentence_transformers", "gensim", "datasets", "accelerate", "faiss"]}
# Tutorials that also need system binaries: (check, reason to skip)
SYSTEM = {"speech.md": ("contrastkit.speech.corpus:synthesis_available", "espeak-ng / flite / sox are not installed")}


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


def test_every_tutorial_is_tested():
    assert sorted(p.name for p in TUTORIALS.glob("*.md")) == sorted(NEEDS)
    assert all(len(blocks(TUTORIALS / name)) >= 3 for name in NEEDS)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_tutorial_runs(name, tmp_path, monkeypatch):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    if name in SYSTEM:
        import importlib

        target, reason = SYSTEM[name]
        module, attr = target.split(":")
        if not getattr(importlib.import_module(module), attr)():
            pytest.skip(reason)
    monkeypatch.chdir(tmp_path)  # the tutorials write their folders to the working directory
    namespace: dict[str, object] = {"__name__": f"tutorial_{name}"}
    for i, code in enumerate(blocks(TUTORIALS / name)):
        exec(compile(code, f"{name} block {i + 1}", "exec"), namespace)  # noqa: S102 - our own docs
    # every tutorial ends with a saved model folder that loads back
    assert any((tmp_path / d / "model.safetensors").is_file() for d in ("my-model", "my-clip", "my-ts2vec",
                                                                      "my-text-encoder"))


def test_every_public_package_has_an_api_page():
    root = Path(__file__).resolve().parents[1]
    packages = sorted(p.name for p in (root / "src" / "contrastkit").iterdir()
                      if (p / "__init__.py").is_file() and not p.name.startswith("_") and p.name != "recipes")
    nav = (root / "mkdocs.yml").read_text()
    for name in packages:
        page = root / "docs" / "api" / f"{name}.md"
        assert page.is_file() and f"::: contrastkit.{name}" in page.read_text(), name
        assert f"api/{name}.md" in nav, name
