import pytest
import torch

# Tests that read optional system data carry one of these markers; they skip with the reason below when
# the data is absent (a fresh machine) or hidden with CONTRASTKIT_HIDE_OPTIONAL_DATA=1 (CI proves that path).
_OPTIONAL_DATA = {
    "requires_fashion_mnist": (
        "contrastkit.vision.data:fashion_mnist_available",
        "Fashion-MNIST is not on this machine (apt-get install -y dataset-fashion-mnist, or `make data`)",
    ),
    "requires_fortunes": (
        "contrastkit.generation.smollm2_eval:fortunes_available",
        "Debian fortunes are not on this machine (apt-get install -y fortunes, or `make data`)",
    ),
    "requires_speech_synthesis": (
        "contrastkit.speech.corpus:synthesis_available",
        "espeak-ng / flite / sox are not on this machine (apt-get install -y espeak-ng flite sox, or `make data`)",
    ),
    "requires_wordnet": (
        "contrastkit.text.corpora:wordnet_available",
        "Debian WordNet is not on this machine (apt-get install -y wordnet-base, or `make data`)",
    ),
}


def _available(target: str) -> bool:
    import importlib

    module, name = target.split(":")
    return bool(getattr(importlib.import_module(module), name)())


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (target, reason) in _OPTIONAL_DATA.items():
        if item.get_closest_marker(marker) is not None and not _available(target):
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture
def no_system_copies(tmp_path, monkeypatch):
    """Hide the Debian folder, the cache and $CONTRASTKIT_DATA so that only explicit roots count."""
    from contrastkit.vision import data as vdata

    monkeypatch.setattr(vdata, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(vdata, "CACHE_DIR", tmp_path / "no-cache")
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    monkeypatch.delenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", raising=False)
    vdata._fashion_arrays.cache_clear()
    yield tmp_path
    vdata._fashion_arrays.cache_clear()
