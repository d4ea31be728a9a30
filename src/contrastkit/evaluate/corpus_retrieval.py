"""Top-k search over a corpus of embeddings through faiss, and precision / recall@k and MRR of it.

Cosine similarity = inner product of L2-normalised rows. Below ``ivf_threshold`` corpus rows the index is
faiss's exact ``IndexFlatIP``; from it on, an inverted-file index ``IndexIVFFlat`` (k-means coarse quantiser
with ``nlist`` lists, ``nprobe`` of them visited per query; Jegou, Douze & Schmid, TPAMI 2011; Johnson, Douze
& Jegou, "Billion-scale similarity search with GPUs", 2019), which is approximate unless ``nprobe == nlist``.
``backend="torch"`` is the exact brute-force reference (chunked matrix products).

With the flat index the metrics equal brute force: faiss and torch add in different orders (float32 scores
differ by ~1e-7), so a query whose ranking has two neighbours of different relevance within ``1e-5`` of each
other is re-ranked exactly in torch, and ties are broken pessimistically (an irrelevant item before a
relevant one of the same score) on both paths, as in :func:`contrastkit.evaluate.class_retrieval_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from contrastkit._validation import check_same_dim
from contrastkit.evaluate._common import as_tensor, check_positive_int, embeddings, same_device_dtype, unit_rows

BACKENDS = ("auto", "torch", "faiss")
IVF_THRESHOLD = 50_000
_TIE_GAP = 1e-5


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("faiss search needs faiss-cpu: pip install 'contrastkit[faiss]'") from err
    return faiss


def _unit_f32(x: object, name: str) -> np.ndarray:
    t = unit_rows(embeddings(x, name).detach().cpu().float())
    return np.ascontiguousarray(t.numpy(), dtype=np.float32)


def ivf_defaults(n: int) -> tuple[int, int]:
    """``(nlist, nprobe)`` used for an ``n``-row corpus: ``nlist = round(sqrt(n))`` (faiss's guideline of the
    order of sqrt(n) lists; at least 1) and ``nprobe = max(1, nlist // 32)``.

    The ``nprobe`` fraction is chosen on measured recall@10 (``benchmarks/text_embed.py``, 100k x 384): on
    clustered embeddings (1000 Gaussian clusters, independent queries) ``nlist // 32`` keeps recall@10 >= 0.99
    (one probed list already gives 0.990). On unclustered data (uniform on the sphere, or heavily overlapping
    clusters) no ``nprobe < nlist`` reaches 0.99: there pass ``nprobe=nlist`` or raise ``ivf_threshold``.
    """
    nlist = max(1, round(math.sqrt(n)))
    return nlist, max(1, nlist // 32)


def build_index(corpus_emb: object, *, ivf_threshold: int = IVF_THRESHOLD, nlist: int | None = None,
                nprobe: int | None = None, seed: int = 0) -> Any:
    """A faiss inner-product index over the L2-normalised rows of ``corpus_emb`` ``(N, d)``.

    ``N < ivf_threshold``: ``IndexFlatIP`` (exact). Otherwise ``IndexIVFFlat`` with ``nlist`` lists (default
    :func:`ivf_defaults`), its k-means trained on a seeded sample of ``min(N, 64 * nlist)`` rows, searching
    ``nprobe`` lists per query (``nprobe = nlist`` makes it exact). Returns the faiss index (its ``ntotal`` is
    ``N``; ids are row numbers).
    """
    faiss = _faiss()
    x = _unit_f32(corpus_emb, "corpus_emb")
    n, d = x.shape
    ivf_threshold = check_positive_int(ivf_threshold, "ivf_threshold")
    if n < ivf_threshold:
        index = faiss.IndexFlatIP(d)
        index.add(x)
        return index
    default_nlist, default_nprobe = ivf_defaults(n)
    nlist = default_nlist if nlist is None else check_positive_int(nlist, "nlist")
    if nlist > n:
        raise ValueError(f"nlist: expected at most the corpus size {n}, got {nlist}")
    nprobe = (default_nprobe if nlist == default_nlist else max(1, nlist // 32)) if nprobe is None else \
        check_positive_int(nprobe, "nprobe")
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = x[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    index.cp.seed = int(seed)
    index.train(sample)
    index.add(x)
    index.nprobe = min(nprobe, nlist)
    return index


def search(query_emb: object, index: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, ids)``, each ``(Q, k)``: the ``k`` corpus rows of highest cosine similarity per query, best
    first, from a :func:`build_index` index. ``ids`` is ``-1`` where an IVF search found fewer than ``k``."""
    q = _unit_f32(query_emb, "query_emb")
    k = check_positive_int(k, "k")
    if q.shape[1] != index.d:
        raise ValueError(f"query_emb: expected dimension {index.d} (that of the index), got {q.shape[1]}")
    if k > index.ntotal:
        raise ValueError(f"k: expected at most the corpus size {index.ntotal}, got {k}")
    scores, ids = index.search(q, k)
    return scores, ids


def brute_force_top_k(query_emb: object, corpus_emb: object, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference ``(scores, ids)`` ``(Q, k)`` by numpy: all cosine similarities, ``argpartition``, sort."""
    q, c = _unit_f32(query_emb, "query_emb"), _unit_f32(corpus_emb, "corpus_emb")
    k = check_positive_int(k, "k")
    if k > c.shape[0]:
        raise ValueError(f"k: expected at most the corpus size {c.shape[0]}, got {k}")
    sims = q @ c.T
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)


class _Relevance:
    """Relevance as sorted keys ``q * N + id`` (memory O(relevant pairs), any corpus size)."""

    def __init__(self, relevant: object, n_query: int, n_corpus: int) -> None:
        self.n_corpus = n_corpus
        rel = as_tensor(relevant, "relevant")
        if isinstance(rel, Tensor) and rel.dim() == 2:
            if rel.dtype != torch.bool:
                raise TypeError(f"relevant: a 2-D relevant must be a bool (Q, N) matrix, got {rel.dtype}")
            if tuple(rel.shape) != (n_query, n_corpus):
                raise ValueError(f"relevant: expected shape ({n_query}, {n_corpus}) (queries x corpus), "
                                 f"got {tuple(rel.shape)}")
            q_idx, c_idx = rel.cpu().nonzero(as_tuple=True)
            q_np, c_np = q_idx.numpy(), c_idx.numpy()
        elif isinstance(rel, Tensor) and rel.dim() == 1:
            if rel.dtype.is_floating_point or rel.dtype == torch.bool or rel.dtype.is_complex:
                raise TypeError(f"relevant: a 1-D relevant must hold integer corpus indices, got {rel.dtype}")
            if rel.shape[0] != n_query:
                raise ValueError(f"relevant: expected {n_query} corpus indices (one per query), got {rel.shape[0]}")
            q_np, c_np = np.arange(n_query), rel.cpu().numpy().astype(np.int64)
        elif isinstance(rel, Sequence) and not isinstance(rel, str):
            if len(rel) != n_query:
                raise ValueError(f"relevant: expected {n_query} lists of corpus indices (one per query), "
                                 f"got {len(rel)}")
            q_list, c_list = [], []
            for i, items in enumerate(rel):
                ids = [int(j) for j in (items if isinstance(items, (Sequence, set, frozenset, np.ndarray))
                                        else [items])]
                q_list.extend([i] * len(ids))
                c_list.extend(ids)
            q_np, c_np = np.asarray(q_list, dtype=np.int64), np.asarray(c_list, dtype=np.int64)
        else:
            raise TypeError("relevant: expected a (Q,) index vector, a bool (Q, N) matrix or a list of index "
                            f"lists, got {type(relevant).__name__}")
        if c_np.size and (c_np.min() < 0 or c_np.max() >= n_corpus):
            raise ValueError(f"relevant: corpus indices must lie in [0, {n_corpus}), "
                             f"got range [{int(c_np.min())}, {int(c_np.max())}]")
        self.keys = np.unique(q_np.astype(np.int64) * n_corpus + c_np)
        self.count = np.bincount(self.keys // n_corpus, minlength=n_query).astype(np.int64)

    def lookup(self, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Bool, shape of ``ids``: is corpus item ``ids[i, j]`` relevant to query ``rows[i]`` (``-1``: no)."""
        keys = rows[:, None].astype(np.int64) * self.n_corpus + ids
        pos = np.searchsorted(self.keys, keys).clip(max=max(self.keys.size - 1, 0))
        return (self.keys[pos] == keys) & (ids >= 0) if self.keys.size else np.zeros(ids.shape, dtype=bool)


def _pessimistic(scores: np.ndarray, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-sort each row by score (descending), irrelevant before relevant among equal scores."""
    first = np.argsort(rel, axis=1, kind="stable")
    s1, r1 = np.take_along_axis(scores, first, 1), np.take_along_axis(rel, first, 1)
    second = np.argsort(-s1, axis=1, kind="stable")
    return np.take_along_axis(s1, second, 1), np.take_along_axis(r1, second, 1)


def _exact_ranked(q: np.ndarray, c: np.ndarray, rows: np.ndarray, relevance: _Relevance,
                  exclude: np.ndarray | None, depth: int) -> np.ndarray:
    """Ranked relevance ``(len(rows), depth)`` by brute force (float32 products), pessimistic ties."""
    out = np.zeros((rows.size, depth), dtype=bool)
    chunk = max(1, 2 ** 24 // max(c.shape[0], 1))
    ids_all = np.arange(c.shape[0])
    for start in range(0, rows.size, chunk):
        r = rows[start:start + chunk]
        sims = q[r] @ c.T
        rel = relevance.lookup(r, np.broadcast_to(ids_all, sims.shape))
        if exclude is not None:
            ex = exclude[r]
            has = ex >= 0
            sims[np.flatnonzero(has), ex[has]] = -np.inf
            rel[np.flatnonzero(has), ex[has]] = False
        _, ranked = _pessimistic(sims, rel)
        out[start:start + chunk] = ranked[:, :depth]
    return out


def corpus_retrieval_metrics(query_emb: object, corpus_emb: object, relevant: object, *,
                             ks: Sequence[int] = (1, 5, 10), mrr_depth: int = 100, exclude: object | None = None,
                             backend: Literal["auto", "torch", "faiss"] = "auto", ivf_threshold: int | None = None,
                             nlist: int | None = None, nprobe: int | None = None, seed: int = 0) -> dict[str, float]:
    """Precision@k, recall@k and MRR of cosine-similarity retrieval of corpus rows by queries.

    For a query with ``R`` relevant corpus items and ``hits@k`` of them in its top ``k``:
    ``P@k = hits@k / k``, ``R@k = hits@k / R`` (Manning, Raghavan & Schutze, *Introduction to Information
    Retrieval*, 2008, section 8.4), and ``MRR = 1 / rank`` of the first relevant item when it ranks within
    ``mrr_depth``, else 0 (MRR@``mrr_depth``; ``mrr_depth >= N`` is the full-ranking MRR). Each is the mean
    over queries.

    Args:
        query_emb: ``(Q, d)`` float tensor or array.
        corpus_emb: ``(N, d)`` float tensor or array.
        relevant: a ``(Q,)`` integer vector (one relevant corpus row per query), a bool ``(Q, N)`` matrix,
            or a list of ``Q`` lists of corpus rows; every query needs at least one relevant row (after
            ``exclude``).
        ks: cut-offs, each at most the number of candidates (``N``, or ``N - 1`` with ``exclude``).
        mrr_depth: ranks searched for the first relevant item (capped at the number of candidates).
        exclude: ``(Q,)`` integer corpus row never returned for each query (``-1``: none), e.g. the query's
            own row when the queries are corpus rows (leave-one-out).
        backend: ``"faiss"`` (:func:`build_index`: exact flat index, IVF from ``ivf_threshold`` rows on),
            ``"torch"`` (exact brute force), ``"auto"`` (faiss when installed).
        ivf_threshold: ``None`` (default): always the exact flat index, so the metrics equal brute force on
            any data. An integer opts into the approximate IVF index from that corpus size on: its recall
            depends on how clustered the embeddings are (``benchmarks/text_embed.py`` measured recall@10 0.999
            on clustered data but 0.10 uniform on the sphere at the default ``nprobe``), so IVF metrics are
            lower bounds of the exact ones.
        nlist, nprobe, seed: see :func:`build_index` (used only with IVF).

    Returns:
        ``{"P@<k>", "R@<k>"..., "MRR"}`` as python floats.

    Raises:
        ValueError: empty corpus, a ``k`` above the number of candidates, a query without a relevant row.
    """
    query = embeddings(query_emb, "query_emb")
    corpus = embeddings(corpus_emb, "corpus_emb")
    check_same_dim(query, corpus, "query_emb", "corpus_emb")
    query, corpus = same_device_dtype(query, corpus)
    n_query, n_corpus = query.shape[0], corpus.shape[0]
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if isinstance(ks, (int, str)) or not isinstance(ks, Sequence) or not ks:
        raise ValueError(f"ks: expected a non-empty sequence of positive integers, got {ks!r}")
    ks = tuple(check_positive_int(k, "ks") for k in ks)
    mrr_depth = check_positive_int(mrr_depth, "mrr_depth")
    ex: np.ndarray | None = None
    if exclude is not None:
        ex_t = as_tensor(exclude, "exclude")
        if not isinstance(ex_t, Tensor) or ex_t.dim() != 1 or ex_t.shape[0] != n_query or \
                ex_t.dtype.is_floating_point or ex_t.dtype == torch.bool:
            raise ValueError(f"exclude: expected a ({n_query},) integer vector of corpus rows (-1 for none)")
        ex = ex_t.cpu().numpy().astype(np.int64)
        if ex.max() >= n_corpus or ex.min() < -1:
            raise ValueError(f"exclude: corpus rows must lie in [-1, {n_corpus}), got [{ex.min()}, {ex.max()}]")
    candidates = n_corpus - (1 if ex is not None and (ex >= 0).any() else 0)
    if max(ks) > candidates:
        raise ValueError(f"ks: k = {max(ks)} is larger than the corpus ({candidates} candidate rows per query)")
    relevance = _Relevance(relevant, n_query, n_corpus)
    n_rel = relevance.count.copy()
    if ex is not None:
        has = ex >= 0
        n_rel[has] -= relevance.lookup(np.flatnonzero(has), ex[has][:, None])[:, 0]
    if (n_rel == 0).any():
        raise ValueError(f"relevant: every query needs at least one relevant corpus row; "
                         f"{int((n_rel == 0).sum())} have none (first: {int(np.flatnonzero(n_rel == 0)[0])})")
    depth = min(max(max(ks), mrr_depth), candidates)
    if backend == "auto":
        from contrastkit.evaluate.class_retrieval import faiss_available

        backend = "faiss" if faiss_available() else "torch"
    q, c = _unit_f32(query, "query_emb"), _unit_f32(corpus, "corpus_emb")
    rows = np.arange(n_query)
    if backend == "torch":
        ranked = _exact_ranked(q, c, rows, relevance, ex, depth)
    else:
        # an evaluation must not depend on the data being IVF-friendly: exact unless IVF is asked for
        threshold = c.shape[0] + 1 if ivf_threshold is None else ivf_threshold
        index = build_index(c, ivf_threshold=threshold, nlist=nlist, nprobe=nprobe, seed=seed)
        fetch = min(depth + 1 + (1 if ex is not None else 0), n_corpus)
        scores, ids = index.search(q, fetch)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float64)
        rel = relevance.lookup(rows, ids)
        if ex is not None:
            own = ids == ex[:, None]
            scores[own], rel[own] = -np.inf, False
        s_sorted, r_sorted = _pessimistic(scores, rel)
        ranked = r_sorted[:, :depth]
        if isinstance(index, _faiss().IndexFlatIP):  # exact index: settle float32 near-ties exactly
            near = s_sorted[:, :-1] - s_sorted[:, 1:] <= _TIE_GAP
            # a near-tie matters between items of different relevance inside the top `depth`, and at the
            # cut-off itself whatever the relevance (an unfetched item may be tied too)
            unsafe = (near & (r_sorted[:, :-1] != r_sorted[:, 1:]))[:, :depth].any(axis=1)
            if near.shape[1] >= depth:
                unsafe |= near[:, depth - 1]
            redo = np.flatnonzero(unsafe)
            if redo.size:
                ranked = ranked.copy()
                ranked[redo] = _exact_ranked(q, c, redo, relevance, ex, depth)
    hits = np.cumsum(ranked, axis=1)
    out: dict[str, float] = {}
    for k in ks:
        out[f"P@{k}"] = float((hits[:, k - 1] / k).mean())
    for k in ks:
        out[f"R@{k}"] = float((hits[:, k - 1] / n_rel).mean())
    found = ranked.any(axis=1)
    first = ranked.argmax(axis=1) + 1
    out["MRR"] = float(np.where(found, 1.0 / first, 0.0).mean())
    return out


__all__ = ["BACKENDS", "IVF_THRESHOLD", "brute_force_top_k", "build_index", "corpus_retrieval_metrics",
           "ivf_defaults", "search"]
