"""Batched word augmentations: p = 0 is the identity, seeds reproduce, the EDA rules hold."""

import pytest
import torch

from contrastkit.text.augment import synonym_replacement, word_deletion, word_swap

TEXTS = ["the quick brown fox jumps over the lazy dog", "Hello, world!", "one"]
TABLE = {"quick": ["fast", "speedy"], "dog": ["hound"], "hello": ["hi"]}


@pytest.mark.parametrize("fn", [word_deletion, word_swap,
                                lambda t, p, **kw: synonym_replacement(t, p, synonyms=TABLE, **kw)])
def test_p_zero_is_identity_and_seeds_reproduce(fn):
    assert fn(["  spaced   text "], 0.0, seed=0) == ["  spaced   text "]
    a = fn(TEXTS, 0.5, seed=1)
    assert a == fn(TEXTS, 0.5, seed=1) == fn(TEXTS, 0.5, generator=torch.Generator().manual_seed(1))
    assert len(a) == len(TEXTS)
    outs = {tuple(fn(TEXTS, 0.5, seed=s)) for s in range(6)}
    assert len(outs) > 1  # the seed matters


def test_deletion_keeps_order_and_at_least_one_word():
    out = word_deletion(TEXTS * 20, 0.999, seed=0)
    assert all(len(t.split()) == 1 for t in out)
    for src, dst in zip(TEXTS * 20, out, strict=True):
        assert dst in src.split()
    mid = word_deletion([TEXTS[0]] * 200, 0.3, seed=0)
    kept = sum(len(t.split()) for t in mid) / (200 * 9)
    assert 0.6 < kept < 0.8  # about 1 - p of the words stay


def test_swap_is_a_permutation_with_the_eda_count():
    out = word_swap([TEXTS[0]] * 50, 0.25, seed=0)  # max(1, int(0.25 * 9)) = 2 swaps
    assert all(sorted(t.split()) == sorted(TEXTS[0].split()) for t in out)
    assert any(t != TEXTS[0] for t in out)
    assert word_swap(["one"], 1.0, seed=0) == ["one"]


def test_synonym_replacement_keeps_punctuation_and_case():
    out = synonym_replacement(["Hello, quick dog."], 1.0, synonyms=TABLE, seed=0)[0]
    first, second, third = out.split()
    assert first == "Hi," and second in ("fast", "speedy") and third == "hound."


@pytest.mark.requires_wordnet
def test_synonym_replacement_uses_wordnet_by_default():
    out = synonym_replacement(["car"], 1.0, seed=0)[0]
    from contrastkit.text.corpora import wordnet_synonyms

    assert out in wordnet_synonyms()["car"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="p: expected a probability"):
        word_deletion(TEXTS, 1.5)
    with pytest.raises(ValueError, match="seed: give generator or seed"):
        word_swap(TEXTS, 0.1, generator=torch.Generator(), seed=0)
    with pytest.raises(ValueError, match="texts: item 0 is an empty"):
        word_swap([""], 0.1)
    with pytest.raises(TypeError, match="synonyms: expected a mapping"):
        synonym_replacement(TEXTS, 0.5, synonyms=["x"])
