"""TextEncoder: loading (packaged MiniLM, sentence-transformers / transformers folders, the local hub cache),
mean pooling, dropout views, encode order, bad input, and the sentence-transformers round trip."""

import json
import os

import pytest
import torch

from contrastkit.text import TextEncoder, minilm_path, save_sentence_transformer

SENTENCES = ["A man is playing a guitar.", "The cat sat on the mat.", "Stocks fell sharply on Monday.",
             "A woman plays the violin on stage.", "Rain is expected over the weekend in the north."]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder.from_pretrained()


@pytest.fixture(scope="module")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)


def test_packaged_minilm_matches_sentence_transformers(encoder, st_model):
    emb = encoder.encode(SENTENCES)
    assert emb.shape == (5, 384) and encoder.dim == 384 and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(5))
    st_model.max_seq_length = encoder.max_length
    ref = torch.from_numpy(st_model.encode(SENTENCES, normalize_embeddings=True))
    torch.testing.assert_close(emb, ref, atol=1e-5, rtol=0)


def test_forward_is_attention_mask_mean_pooling(encoder):
    batch = encoder.tokenize(SENTENCES[:3])
    assert set(batch) == {"input_ids", "attention_mask"} and batch["input_ids"].dtype == torch.long
    encoder.eval()
    with torch.no_grad():
        pooled = encoder(**batch)
        states = encoder.model(**batch).last_hidden_state
    for i in range(3):  # naive per-row mean over the real tokens
        n = int(batch["attention_mask"][i].sum())
        torch.testing.assert_close(pooled[i], states[i, :n].mean(0), atol=1e-5, rtol=0)
    assert not torch.allclose(pooled.norm(dim=1), torch.ones(3))  # forward does not normalise


def test_train_mode_gives_dropout_views_and_encode_restores_mode(encoder):
    batch = encoder.tokenize(SENTENCES[:2])
    encoder.train()
    try:
        a, b = encoder(**batch), encoder(**batch)
        assert a.requires_grad and not torch.allclose(a, b)  # SimCSE's two dropout views
        encoder.encode(SENTENCES[:1])
        assert encoder.training
    finally:
        encoder.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(**batch), encoder(**batch))


def test_encode_keeps_input_order_across_length_sorted_batches(encoder):
    together = encoder.encode(SENTENCES, batch_size=2)
    alone = torch.cat([encoder.encode([s]) for s in SENTENCES])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    raw = encoder.encode(SENTENCES[:2], normalize=False)
    torch.testing.assert_close(torch.nn.functional.normalize(raw, dim=1), together[:2], atol=1e-5, rtol=0)


@pytest.mark.parametrize("texts, error, match", [
    ([], ValueError, "texts: expected at least one text"),
    (["ok", ""], ValueError, "texts: item 1 is an empty"),
    (["ok", "   "], ValueError, "texts: item 1 is an empty"),
    ("a single string", TypeError, "texts: expected a list of strings, got a single string"),
    (["ok", 3], TypeError, "texts: item 1 is a int"),
])
def test_bad_texts_are_one_clear_error(encoder, texts, error, match):
    with pytest.raises(error, match=match):
        encoder.encode(texts)
    with pytest.raises(error, match=match):
        encoder.tokenize(texts)


def test_save_sentence_transformer_round_trip_is_identical(encoder, tmp_path):
    from sentence_transformers import SentenceTransformer

    folder = save_sentence_transformer(encoder, tmp_path / "st")
    st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert st.max_seq_length == encoder.max_length
    ref = torch.from_numpy(st.encode(SENTENCES))  # the folder's Normalize module normalises
    torch.testing.assert_close(encoder.encode(SENTENCES), ref, atol=1e-6, rtol=0)
    again = TextEncoder.from_pretrained(folder)
    torch.testing.assert_close(again.encode(SENTENCES), ref, atol=1e-6, rtol=0)
    assert encoder.save_pretrained(tmp_path / "st2").joinpath("modules.json").is_file()


def test_cls_pooling_round_trip(encoder, tmp_path):
    from sentence_transformers import SentenceTransformer

    cls_enc = TextEncoder(encoder.model, encoder.tokenizer, max_length=64, pooling="cls")
    folder = save_sentence_transformer(cls_enc, tmp_path / "cls", normalize=False)
    st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    ref = torch.from_numpy(st.encode(SENTENCES[:3]))
    torch.testing.assert_close(cls_enc.encode(SENTENCES[:3], normalize=False), ref, atol=1e-5, rtol=0)
    assert TextEncoder.from_pretrained(folder).pooling == "cls"


def test_plain_transformers_folder_loads_with_mean_pooling(encoder, tmp_path):
    folder = tmp_path / "plain"
    encoder.model.save_pretrained(str(folder))
    encoder.tokenizer.save_pretrained(str(folder))
    assert not (folder / "modules.json").exists()
    plain = TextEncoder.from_pretrained(folder)
    assert plain.pooling == "mean"
    torch.testing.assert_close(plain.encode(SENTENCES[:2]), encoder.encode(SENTENCES[:2]), atol=1e-6, rtol=0)


def test_hub_name_loads_from_the_local_cache_only(encoder, tmp_path):
    """A hub name goes through the real hub loader with local_files_only=True: found in a (here hand-built)
    cache it loads, missing from it it is one ValueError, never a download."""
    snapshot = tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for root, _, files in os.walk(minilm_path()):
        for f in files:
            src = os.path.join(root, f)
            dst = snapshot / os.path.relpath(src, minilm_path())
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    hub = TextEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2", cache_dir=tmp_path / "hub")
    torch.testing.assert_close(hub.encode(SENTENCES[:2]), encoder.encode(SENTENCES[:2]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="path: 'nobody/no-such-model' is not a loadable sentence encoder hub name"):
        TextEncoder.from_pretrained("nobody/no-such-model", cache_dir=tmp_path / "hub")


def test_folders_that_are_not_sentence_encoders_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is not a sentence encoder folder"):
        TextEncoder.from_pretrained(tmp_path / "empty")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        TextEncoder.from_pretrained(tmp_path / "file.txt")
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "config.json").write_text(json.dumps({"format": "contrastkit-model/1", "model": {}}))
    with pytest.raises(ValueError, match="contrastkit model folder"):
        TextEncoder.from_pretrained(ck)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "bert"}))  # no weights, no tokenizer
    with pytest.raises(ValueError, match="is not a loadable sentence encoder folder"):
        TextEncoder.from_pretrained(broken)


def test_sentence_transformers_heads_it_cannot_reproduce_are_refused(encoder, tmp_path):
    folder = save_sentence_transformer(encoder, tmp_path / "dense")
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="Dense"):
        TextEncoder.from_pretrained(folder)
    folder = save_sentence_transformer(encoder, tmp_path / "maxpool")
    pool = json.loads((folder / "1_Pooling" / "config.json").read_text())
    pool.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    with pytest.raises(ValueError, match="pooling"):
        TextEncoder.from_pretrained(folder)


def test_constructor_arguments_are_checked(encoder):
    with pytest.raises(ValueError, match="pooling"):
        TextEncoder(encoder.model, encoder.tokenizer, pooling="max")
    with pytest.raises(ValueError, match="max_length"):
        TextEncoder(encoder.model, encoder.tokenizer, max_length=0)
    with pytest.raises(TypeError, match="encoder: expected a contrastkit.text.TextEncoder"):
        save_sentence_transformer(encoder.model, "unused")


def test_contrastkit_save_and_from_pretrained_know_the_text_encoder(encoder, tmp_path):
    import contrastkit as ck

    long_enc = TextEncoder(encoder.model, encoder.tokenizer, max_length=200)
    folder = ck.save_pretrained(long_enc, tmp_path / "ck", metadata={"trained_on": "nothing"})
    assert (folder / "modules.json").is_file() and (folder / "model.safetensors").is_file()
    assert json.loads((folder / "contrastkit_metadata.json").read_text()) == {"trained_on": "nothing"}
    loaded = ck.from_pretrained(folder)
    assert isinstance(loaded, TextEncoder) and loaded.max_length == 200 and not loaded.training
    torch.testing.assert_close(ck.encode(loaded, SENTENCES[:2]), encoder.encode(SENTENCES[:2]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="encoder: a sentence-transformers folder"):
        ck.from_pretrained(folder, encoder=torch.nn.Linear)


def test_sentence_transformers_folder_with_a_transformer_subfolder(encoder, tmp_path):
    """The older sentence-transformers layout keeps the transformer in 0_Transformer/."""
    folder = save_sentence_transformer(encoder, tmp_path / "flat")
    nested = tmp_path / "nested"
    (nested / "0_Transformer").mkdir(parents=True)
    for f in folder.iterdir():
        if f.is_file() and f.name not in ("modules.json",):
            (nested / "0_Transformer" / f.name).write_bytes(f.read_bytes())
    (nested / "1_Pooling").mkdir()
    (nested / "1_Pooling" / "config.json").write_bytes((folder / "1_Pooling" / "config.json").read_bytes())
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (nested / "modules.json").write_text(json.dumps(modules))
    loaded = TextEncoder.from_pretrained(nested)
    torch.testing.assert_close(loaded.encode(SENTENCES[:2]), encoder.encode(SENTENCES[:2]), atol=1e-6, rtol=0)
    modules[0]["path"] = "../../etc"
    (nested / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="points outside the folder"):
        TextEncoder.from_pretrained(nested)


def test_corrupt_weights_are_one_error(encoder, tmp_path):
    folder = save_sentence_transformer(encoder, tmp_path / "corrupt")
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="is not a loadable sentence encoder folder"):
        TextEncoder.from_pretrained(folder)
