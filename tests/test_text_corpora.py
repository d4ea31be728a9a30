"""Offline text corpora: sizes, contents, seeded stratified splits, optional Debian data."""

import pickle

import numpy as np
import pytest

from contrastkit.text import corpora


def test_lee_corpus_and_human_similarities():
    docs, human = corpora.lee_corpus()
    assert len(docs) == 50 and human.shape == (50, 50)
    np.testing.assert_array_equal(human, human.T)
    np.testing.assert_array_equal(np.diag(human), np.ones(50))
    assert human.min() >= 0 and human.max() <= 1
    assert docs[0].startswith("The national executive of the strife-torn Democrats")
    background = corpora.lee_background()
    assert len(background) == 300 and not set(background) & set(docs)


@pytest.mark.parametrize("name, n", [("wordsim353", 353), ("simlex999", 999)])
def test_word_similarity(name, n):
    pairs = corpora.word_similarity(name)
    assert len(pairs) == n
    assert all(isinstance(a, str) and isinstance(b, str) and 0 <= s <= 10 for a, b, s in pairs)
    if name == "wordsim353":
        assert ("tiger", "cat", 7.35) in pairs
    with pytest.raises(ValueError, match="name: expected one of"):
        corpora.word_similarity("men")


def test_pang_lee_split_is_stratified_disjoint_and_seeded():
    texts, labels = corpora.pang_lee_polarity()
    assert len(texts) == 200 and labels.sum() == 100
    train, ytr = corpora.pang_lee_polarity("train", seed=3)
    test, yte = corpora.pang_lee_polarity("test", seed=3)
    assert len(train) == len(test) == 100 and ytr.sum() == yte.sum() == 50
    assert not set(train) & set(test) and set(train) | set(test) == set(texts)
    assert corpora.pang_lee_polarity("test", seed=3)[0] == test
    assert corpora.pang_lee_polarity("test", seed=4)[0] != test
    with pytest.raises(ValueError, match="split: expected one of"):
        corpora.pang_lee_polarity("validation")


def test_newsgroups_mini_drops_the_headers_that_name_the_label():
    texts, labels, names = corpora.newsgroups_mini()
    assert len(texts) == 200 and names == ["alt.atheism", "sci.space"] and set(labels.tolist()) == {0, 1}
    assert not any(t.startswith(("Newsgroups:", "Path:", "From:")) for t in texts)
    # one body quotes a forwarded header; every post had the group in its own header block before
    assert sum("Newsgroups:" in t for t in texts) == 1


def test_newsgroups_unpickler_refuses_other_classes():
    import io

    payload = pickle.dumps(print, protocol=0)  # a pickle naming a callable outside the allow-list
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        corpora._BunchUnpickler(io.BytesIO(payload)).load()


def test_stratified_split_keeps_each_class_on_both_sides():
    y = np.array([0] * 10 + [1] * 3 + [2] * 2)
    tr, te = corpora.stratified_split(y, test_fraction=0.2, seed=0)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(15))
    for c in (0, 1, 2):
        assert (y[te] == c).sum() >= 1 and (y[tr] == c).sum() >= 1
    with pytest.raises(ValueError, match="test_fraction"):
        corpora.stratified_split(y, test_fraction=1.0, seed=0)


@pytest.mark.requires_fortunes
def test_fortunes_categories_labels_and_no_duplicate_texts():
    texts, labels, names = corpora.fortunes()
    assert len(names) == 43 and names == sorted(names) and "computers" in names
    assert len(texts) == len(labels) and len(set(texts)) == len(texts)
    assert all(20 <= len(t) <= 400 for t in texts) and labels.max() == 42
    sub, ys, sub_names = corpora.fortunes(["science", "computers"], per_category=30, seed=1)
    assert sub_names == ["computers", "science"] and np.bincount(ys).tolist() == [30, 30]
    tr, _, _ = corpora.fortunes(["science", "computers"], per_category=30, seed=1, split="train")
    te, _, _ = corpora.fortunes(["science", "computers"], per_category=30, seed=1, split="test")
    assert len(tr) == 48 and len(te) == 12 and not set(tr) & set(te)
    with pytest.raises(ValueError, match="categories: unknown fortune categories"):
        corpora.fortunes(["no-such-category"])


def test_fortunes_hidden_is_one_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    assert not corpora.fortunes_available()
    with pytest.raises(FileNotFoundError, match="apt-get install -y fortunes"):
        corpora.fortunes()
    (tmp_path / "jokes").write_text("A first fortune long enough.\n%\nA second fortune, also long.\n%\n")
    texts, labels, names = corpora.fortunes(root=tmp_path)  # an explicit folder is still read
    assert texts == ["A first fortune long enough.", "A second fortune, also long."] and names == ["jokes"]


@pytest.mark.requires_wordnet
def test_wordnet_glosses_and_synonyms():
    nouns = corpora.wordnet_glosses("noun")
    assert len(nouns) == 82115
    lemmas, gloss = nouns[0]
    assert lemmas == ("entity",) and gloss.startswith("that which is perceived")
    syn = corpora.wordnet_synonyms()
    assert "automobile" in syn["car"] and "car" in syn["automobile"]
    with pytest.raises(ValueError, match="pos: expected one of"):
        corpora.wordnet_glosses("pronoun")
