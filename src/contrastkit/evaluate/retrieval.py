"""Retrieval metrics: Recall@k, mean reciprocal rank and NDCG@k with cosine scores."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from contrastkit._validation import check_same_dim
from contrastkit.evaluate._common import (
    as_tensor,
    check_positive_int,
    embeddings,
    same_device_dtype,
    unit_rows,
)


def _relevance_chunk(relevant: Tensor, rows: slice, n_gallery: int) -> Tensor:
    """Bool ``(c, G)`` relevance for query rows ``rows``."""
    if relevant.dim() == 2:
        return relevant[rows]
    idx = relevant[rows]
    rel = torch.zeros(idx.shape[0], n_gallery, dtype=torch.bool, device=idx.device)
    rel[torch.arange(idx.shape[0], device=idx.device), idx] = True
    return rel


def _check_relevant(relevant: object, n_query: int, n_gallery: int) -> Tensor:
    relevant = as_tensor(relevant, "relevant")
    if not isinstance(relevant, Tensor):
        raise TypeError(f"relevant: expected a tensor or numpy array, got {type(relevant).__name__}")
    if relevant.dim() == 1:
        if relevant.dtype.is_floating_point or relevant.dtype.is_complex or relevant.dtype == torch.bool:
            raise TypeError(
                f"relevant: a 1-D relevant must hold integer gallery indices, got {relevant.dtype}"
            )
        if relevant.shape[0] != n_query:
            raise ValueError(
                f"relevant: expected shape ({n_query},) (one gallery index per query), "
                f"got {tuple(relevant.shape)}"
            )
        if relevant.numel() and (relevant.min() < 0 or relevant.max() >= n_gallery):
            raise ValueError(f"relevant: gallery indices must lie in [0, {n_gallery}), "
                             f"got range [{int(relevant.min())}, {int(relevant.max())}]")
        return relevant.long()
    if relevant.dim() == 2:
        if relevant.dtype != torch.bool:
            raise TypeError(f"relevant: a 2-D relevant must be a bool (Q, G) matrix, got {relevant.dtype}")
        if tuple(relevant.shape) != (n_query, n_gallery):
            raise ValueError(
                f"relevant: expected shape ({n_query}, {n_gallery}) (queries x gallery), "
                f"got {tuple(relevant.shape)}"
            )
        empty = ~relevant.any(dim=1)
        if empty.any():
            raise ValueError(
                f"relevant: every query needs at least one relevant gallery item; "
                f"{int(empty.sum())} queries have none (first: {int(empty.nonzero()[0, 0])})"
            )
        return relevant
    raise ValueError(
        f"relevant: expected a 1-D index vector or a 2-D bool matrix, got shape {tuple(relevant.shape)}"
    )


@torch.no_grad()
def retrieval_metrics(
    query_emb: object,
    gallery_emb: object,
    relevant: object,
    *,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Recall@k, MRR and NDCG@max(ks) of cosine-similarity retrieval (binary relevance).

    Each query ranks the whole gallery by cosine similarity. With the ranked relevance list
    ``rel_1, rel_2, ...`` of a query and ``n_rel`` relevant items:

    - ``recall@k`` = fraction of queries with at least one relevant item in the top ``k``
      (the R@K of image-text and metric-learning retrieval; for a single relevant item it is
      the usual recall).
    - ``mrr`` = mean over queries of ``1 / rank`` of the first relevant item
      (Voorhees, TREC-8 QA, 1999).
    - ``ndcg@K`` with ``K = max(ks)`` = ``DCG@K / IDCG@K`` with ``DCG@K = sum_{r<=K} rel_r / log2(r+1)``
      and ``IDCG@K = sum_{r<=min(n_rel,K)} 1 / log2(r+1)`` (Jarvelin & Kekalainen, TOIS 2002).

    Ties are broken pessimistically: a relevant item with the same score as an irrelevant one
    is ranked after it (ties among relevant items do not change any metric). So constant or
    collapsed embeddings get the worst possible scores rather than perfect ones.

    Args:
        query_emb: ``(Q, d)`` float tensor or numpy array.
        gallery_emb: ``(G, d)`` float tensor or numpy array.
        relevant: either a 1-D integer tensor of length ``Q`` giving the index of each query's
            single relevant gallery item, or a bool ``(Q, G)`` relevance matrix with at least one
            ``True`` per row.
        ks: cut-offs for recall; values above ``G`` are allowed (then recall is 1).
        chunk_size: queries per similarity block (memory O(chunk_size x G)).

    Returns:
        ``{"recall@1": ..., "recall@5": ..., "recall@10": ..., "mrr": ..., "ndcg@10": ...}``.
    """
    query = embeddings(query_emb, "query_emb")
    gallery = embeddings(gallery_emb, "gallery_emb")
    check_same_dim(query, gallery, "query_emb", "gallery_emb")
    rel_all = _check_relevant(relevant, query.shape[0], gallery.shape[0])
    if isinstance(ks, (int, str)) or len(ks) == 0:
        raise ValueError(f"ks: expected a non-empty sequence of positive integers, got {ks!r}")
    ks = tuple(check_positive_int(k, "ks") for k in ks)
    chunk_size = check_positive_int(chunk_size, "chunk_size")

    query, gallery = same_device_dtype(query, gallery)
    query, gallery = unit_rows(query), unit_rows(gallery)
    rel_all = rel_all.to(query.device)
    n_gallery = gallery.shape[0]
    k_ndcg = max(ks)
    cut = min(k_ndcg, n_gallery)
    discounts = 1.0 / torch.log2(torch.arange(2, cut + 2, device=query.device, dtype=torch.float64))

    hits = {k: 0.0 for k in ks}
    rr_sum = 0.0
    ndcg_sum = 0.0
    for start in range(0, query.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        sims = query[rows] @ gallery.T
        rel = _relevance_chunk(rel_all, rows, n_gallery)
        # Two stable sorts: irrelevant items first, then by descending score, so that among equal
        # scores the irrelevant items come first (pessimistic tie-breaking).
        order = torch.argsort(rel.to(torch.uint8), dim=1, stable=True)
        sims = sims.gather(1, order)
        order2 = torch.argsort(sims, dim=1, descending=True, stable=True)
        ranked = rel.gather(1, order).gather(1, order2)  # (c, G) bool in rank order
        for k in ks:
            hits[k] += float(ranked[:, :k].any(dim=1).sum())
        first = ranked.to(torch.uint8).argmax(dim=1).to(torch.float64) + 1.0
        rr_sum += float((1.0 / first).sum())
        dcg = (ranked[:, :cut].to(torch.float64) * discounts).sum(dim=1)
        n_rel = ranked.sum(dim=1).clamp(max=cut)
        idcg = torch.cumsum(discounts, 0)[n_rel - 1]
        ndcg_sum += float((dcg / idcg).sum())

    n_query = query.shape[0]
    out = {f"recall@{k}": hits[k] / n_query for k in ks}
    out["mrr"] = rr_sum / n_query
    out[f"ndcg@{k_ndcg}"] = ndcg_sum / n_query
    return out
