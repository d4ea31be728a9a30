"""One-call benchmark scores of a sentence encoder: the same numbers as the metrics on cached embeddings, and
the packaged MiniLM far above chance (a broken pooling or tokenizer would not be)."""

import pytest

import contrastkit as ck
from contrastkit.text import cached_encode, corpora
from contrastkit.text.evaluation import lee_spearman, word_similarity_spearman


def test_lee_spearman_of_the_packaged_minilm():
    docs, human = corpora.lee_corpus()
    rho = lee_spearman()
    assert rho == pytest.approx(ck.evaluate.similarity_matrix_spearman(cached_encode(None, docs), human))
    assert 0.45 < rho < 0.56  # measured 0.504 at 128 tokens; bag-of-words LSI reaches ~0.6 in gensim's test


def test_word_similarity_spearman_of_the_packaged_minilm():
    assert word_similarity_spearman(None, "wordsim353") == pytest.approx(0.729, abs=0.01)
    with pytest.raises(ValueError, match="name: expected one of"):
        word_similarity_spearman(None, "rw")
