"""cached_encode: computed once per (weights, texts, normalize), read back from safetensors, invalidated by
any weight change."""

import pytest
import torch

from contrastkit.text import TextEncoder, cache
from contrastkit.text.cache import cache_key, cached_encode, clear_memory_cache

TEXTS = ["first sentence here", "a second, longer sentence about cats", "third"]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder.from_pretrained()


def test_encodes_once_then_reads_memory_and_disk(encoder, tmp_path, monkeypatch):
    calls = []
    real = TextEncoder.encode

    def counting(self, texts, **kw):
        calls.append(len(texts))
        return real(self, texts, **kw)

    monkeypatch.setattr(TextEncoder, "encode", counting)
    first = cached_encode(encoder, TEXTS, cache_dir=tmp_path)
    assert calls == [3] and len(list(tmp_path.glob("*.safetensors"))) == 1
    first[0] = 0  # a returned tensor is a copy
    second = cached_encode(encoder, TEXTS, cache_dir=tmp_path)
    clear_memory_cache()
    third = cached_encode(encoder, TEXTS, cache_dir=tmp_path)  # from the file
    assert calls == [3]
    torch.testing.assert_close(second, third)
    torch.testing.assert_close(third, real(encoder, TEXTS))
    cached_encode(encoder, TEXTS, cache_dir=tmp_path, normalize=False)
    cached_encode(encoder, TEXTS[:2], cache_dir=tmp_path)
    assert calls == [3, 3, 2]


def test_default_model_is_the_packaged_minilm(encoder, tmp_path):
    torch.testing.assert_close(cached_encode(None, TEXTS, cache_dir=None), encoder.encode(TEXTS))


def test_a_weight_change_changes_the_key(encoder, tmp_path):
    key = cache_key(encoder, TEXTS)
    assert cache_key(encoder, TEXTS) == key
    p = next(encoder.parameters())
    saved = p.detach().clone()
    with torch.no_grad():
        p.add_(1.0)  # an optimiser step is in place, like this
    try:
        assert cache_key(encoder, TEXTS) != key
    finally:
        with torch.no_grad():
            p.copy_(saved)
    assert cache_key(encoder, TEXTS) == key
    assert cache_key(encoder, TEXTS, normalize=False) != key
    assert cache_key(encoder, list(reversed(TEXTS))) != key


def test_a_corrupt_cache_file_is_recomputed(encoder, tmp_path):
    key = cache_key(encoder, TEXTS)
    (tmp_path / f"{key}.safetensors").write_bytes(b"not a safetensors file")
    clear_memory_cache()
    torch.testing.assert_close(cached_encode(encoder, TEXTS, cache_dir=tmp_path), encoder.encode(TEXTS))


def test_bad_input(encoder):
    with pytest.raises(TypeError, match="encoder: expected a contrastkit.text.TextEncoder or None"):
        cached_encode(encoder.model, TEXTS)
    with pytest.raises(ValueError, match="texts: expected at least one text"):
        cached_encode(encoder, [])
    with pytest.raises(ValueError, match="texts: item 0 is an empty"):
        cached_encode(encoder, [""])
    assert cache.CACHE_DIR.name == "text_embeddings"
