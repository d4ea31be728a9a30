"""tests/hf4: parity against transformers 4.55.4 (the last release with contrastive search in core).

Run with ``bash scripts/hf4_parity.sh`` (creates ``.venv-hf4``). Under any other transformers version
the tests here are skipped, so the default suite never needs the reference environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hf4: parity tests that need transformers<4.56 (.venv-hf4)")


def _reference_available() -> bool:
    try:
        import transformers
    except ImportError:
        return False
    major, minor = (int(v) for v in transformers.__version__.split(".")[:2])
    return (major, minor) < (4, 56)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _reference_available():
        return
    skip = pytest.mark.skip(reason="needs transformers<4.56: run scripts/hf4_parity.sh")
    for item in items:
        if "hf4" in item.keywords:
            item.add_marker(skip)
