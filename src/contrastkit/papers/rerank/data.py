"""The reranking miniature's retrieval set: real short texts with planted queries and hard negatives.

Documents are Debian fortunes (``fortunes`` package, all 43 categories, 60-200 characters; a quick run
without them falls back to the Lee news documents bundled with gensim, first ``max_doc_words`` words).
Everything is drawn once from ``data.seed`` (the same set for every run seed):

1. ``n_docs`` documents, lowercased and split into words (``[a-z]+``), truncated to ``max_doc_words``;
   a document needs ``query_words`` distinct *content words* (4+ letters, not a stop word).
2. A fixed split of the documents: ``test_fraction`` of them are test documents, the rest train.
3. Each document is the positive of one planted query: ``query_words`` of its content words, in random
   order (so every query has exactly one relevant document).
4. Its ``K - 1`` negatives come from the same split: ``len(hard_shared)`` hard negatives, other documents
   into which ``hard_shared[j]`` of the query words are planted (replacing words at random positions),
   and random other documents. No negative holds all the query words. The positive's slot in the group is
   random.

A word-overlap count (distinct query words in the document) ranks every positive first by construction;
it is reported as the lexical reference, not as a baseline to beat: the set asks what a tiny LM learns
from scratch under each objective.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from contrastkit.generation.rerank import encode_groups, positive_index_from_relevance

SPECIALS = ("[PAD]", "[SEP]", "[ASK]")
# a query's words are content words: these frequent function words never are
_STOP_TEXT = (
    "about above after again against also among been before being below between both cannot could does "
    "doing down during each every from further have having here hers herself himself into itself just "
    "like many more most much must myself never once only other ought ours ourselves over same shall "
    "should some such than that their theirs them themselves then there these they this those through "
    "under until upon very were what when where which while whom whose with would your yours yourself "
    "yourselves will"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True)
class RetrievalSet:
    """Encoded groups of one split: ``input_ids`` / ``attention_mask`` ``(N, K, L)``, ``positive_index``
    ``(N,)``, ``overlap`` ``(N, K)`` (distinct query words in each candidate)."""

    input_ids: Tensor
    attention_mask: Tensor
    positive_index: Tensor
    overlap: Tensor


@dataclass(frozen=True)
class RerankData:
    """The train and test groups, the word vocabulary (specials first, then "yes", "no" and the words) and
    the corpus actually used."""

    train: RetrievalSet
    test: RetrievalSet
    vocab: dict[str, int]
    corpus: str

    @property
    def yes_id(self) -> int:
        return self.vocab["yes"]

    @property
    def no_id(self) -> int:
        return self.vocab["no"]


def load_texts(corpus: str, n_docs: int, seed: int) -> list[str]:
    """``n_docs`` texts of ``corpus`` (``"fortunes"`` or ``"lee"``: the 300 background + 50 Lee documents),
    a seeded draw (all of them when fewer)."""
    from contrastkit.text import corpora

    if corpus == "fortunes":
        texts, _, _ = corpora.fortunes(max_chars=200, min_chars=60)
    elif corpus == "lee":
        texts = corpora.lee_background() + corpora.lee_corpus()[0]
    else:
        raise ValueError(f"data.corpus: expected 'fortunes' or 'lee', got {corpus!r}")
    rng = np.random.default_rng(seed)
    keep = rng.permutation(len(texts))[: min(n_docs, len(texts))]
    return [texts[i] for i in sorted(keep)]


def _content(words: list[str]) -> list[str]:
    seen: list[str] = []
    for w in words:
        if len(w) >= 4 and w not in STOP_WORDS and w not in seen:
            seen.append(w)
    return seen


def _groups(docs: list[list[str]], rows: np.ndarray, *, query_words: int, k: int, hard_shared: list[int],
            rng: np.random.Generator) -> tuple[list[list[str]], list[list[list[str]]], list[list[int]]]:
    queries, groups, relevance = [], [], []
    for i in rows:
        query = list(rng.permutation(_content(docs[i]))[:query_words])
        qset = set(query)
        negatives: list[list[str]] = []
        others = [j for j in rows if j != i]
        for shared in [*hard_shared, *([0] * (k - 1 - len(hard_shared)))]:
            for _attempt in range(1000):
                doc = list(docs[others[int(rng.integers(len(others)))]])
                if shared:
                    planted = rng.permutation(query)[:shared]
                    slots = rng.permutation(len(doc))[:shared]
                    for slot, word in zip(slots, planted, strict=False):
                        doc[int(slot)] = str(word)
                if len(qset & set(doc)) < query_words:  # a negative never holds the whole query
                    negatives.append(doc)
                    break
            else:
                raise ValueError(f"data.n_docs: no negative without the whole query {query} in 1000 draws; "
                                 "the split is too small or too repetitive")
        slot = int(rng.integers(k))
        group = negatives[:slot] + [docs[i]] + negatives[slot:]
        queries.append(query)
        groups.append(group)
        relevance.append([int(j == slot) for j in range(k)])
    return queries, groups, relevance


def build(*, corpus: str, n_docs: int, max_doc_words: int, query_words: int, k: int, hard_shared: list[int],
          test_fraction: float, seed: int, max_length: int) -> RerankData:
    """The retrieval set described in the module doc.

    Raises:
        ValueError: ``hard_shared`` longer than ``k - 1`` or with entries outside ``1..query_words - 1``,
            ``test_fraction`` outside (0, 1), or too few usable documents for a group of ``k``.
    """
    if len(hard_shared) > k - 1 or any(not 1 <= s < query_words for s in hard_shared):
        raise ValueError(f"data.hard_shared: expected at most k - 1 = {k - 1} entries in 1..{query_words - 1}, "
                         f"got {hard_shared}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"data.test_fraction: expected a number in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    docs = [re.findall(r"[a-z]+", t.lower())[:max_doc_words] for t in load_texts(corpus, n_docs, seed)]
    docs = [d for d in docs if len(_content(d)) >= query_words]
    n_test = round(test_fraction * len(docs))
    if min(n_test, len(docs) - n_test) < k:
        raise ValueError(f"data.n_docs: {len(docs)} usable documents give splits smaller than a group of k = {k}")
    order = rng.permutation(len(docs))
    test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])
    vocab = {w: i for i, w in enumerate(SPECIALS)}
    for w in ["yes", "no", *sorted({w for d in docs for w in d})]:
        vocab.setdefault(w, len(vocab))
    pad, sep, ask = (vocab[s] for s in SPECIALS)

    def encode(rows: np.ndarray) -> RetrievalSet:
        queries, groups, relevance = _groups(docs, rows, query_words=query_words, k=k, hard_shared=hard_shared,
                                             rng=rng)
        ids, mask = encode_groups([[vocab[w] for w in q] for q in queries],
                                  [[[vocab[w] for w in d] for d in g] for g in groups], sep_id=sep, ask_id=ask,
                                  pad_id=pad, max_length=max_length)
        overlap = torch.tensor([[len(set(q) & set(d)) for d in g] for q, g in zip(queries, groups, strict=True)],
                               dtype=torch.float64)
        return RetrievalSet(ids, mask, positive_index_from_relevance(relevance), overlap)

    return RerankData(encode(train_rows), encode(test_rows), vocab, corpus)
