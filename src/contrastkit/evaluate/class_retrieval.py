"""Class-label retrieval metrics: mean average precision, MAP@R, precision@1 and recall@k.

Every query ranks the references (the gallery) by cosine similarity; a reference is relevant when it
has the query's label. With ``gallery_emb=None`` the queries are their own references and each query's
own row is excluded (leave-one-out, the usual protocol of metric learning on a test split).

Exact search is chunked torch matrix products. For large galleries ``backend="faiss"`` (the
``contrastkit[faiss]`` extra, ``faiss-cpu``) finds the top neighbours with an exact ``IndexFlatIP`` on
unit vectors, which gives the same neighbours as brute force; see :func:`class_retrieval_metrics` for how
ties and rounding are kept identical between the two backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from contrastkit._validation import check_same_dim
from contrastkit.evaluate._common import check_positive_int, embeddings, labels, same_device_dtype, unit_rows

BACKENDS = ("auto", "torch", "faiss")
# Gap below which two float32 inner products of unit vectors are treated as tied when faiss decides where
# the top-K list ends (faiss and torch sum in different orders: their float32 scores differ by ~1e-7).
_FAISS_TIE_GAP = 1e-5


def faiss_available() -> bool:
    """Whether ``faiss`` can be imported (the ``contrastkit[faiss]`` extra)."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _import_faiss():  # type: ignore[no-untyped-def]
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("backend='faiss' needs faiss: pip install 'contrastkit[faiss]' (faiss-cpu)") from err
    return faiss


def _ranked_relevance(sims: Tensor, rel: Tensor) -> Tensor:
    """Bool ``(c, G)`` relevance in rank order, ties broken pessimistically (irrelevant before relevant)."""
    order = torch.argsort(rel.to(torch.uint8), dim=1, stable=True)
    order2 = torch.argsort(sims.gather(1, order), dim=1, descending=True, stable=True)
    return rel.gather(1, order).gather(1, order2)


def _row_metrics(ranked: Tensor, n_rel: Tensor, ks: tuple[int, ...]) -> dict[str, Tensor]:
    """Per-query metrics from ranked relevance ``(c, L)`` (a prefix of the ranking) and ``n_rel`` ``(c,)``.

    ``ranked`` must cover at least ``max(n_rel, max(ks))`` positions (or the whole gallery) for MAP@R,
    precision@1 and recall@k, and the whole ranking for ``ap``.
    """
    length = ranked.shape[1]
    pos = torch.arange(1, length + 1, device=ranked.device, dtype=torch.float64)
    hit = ranked.to(torch.float64)
    precision = torch.cumsum(hit, dim=1) / pos  # P@i
    r = n_rel.to(torch.float64)
    out = {
        "ap": (precision * hit).sum(dim=1) / r,
        "map@r": (precision * hit * (pos <= r[:, None])).sum(dim=1) / r,
        "precision@1": hit[:, 0],
    }
    for k in ks:
        out[f"recall@{k}"] = hit[:, :k].amax(dim=1)
    return out


@torch.no_grad()
def class_retrieval_metrics(
    query_emb: object,
    query_labels: object,
    gallery_emb: object | None = None,
    gallery_labels: object | None = None,
    *,
    ks: Sequence[int] = (1, 5, 10),
    backend: Literal["auto", "torch", "faiss"] = "torch",
    chunk_size: int = 1024,
) -> dict[str, float]:
    """mAP, MAP@R, precision@1 and recall@k of label-based cosine retrieval.

    For a query with ``R`` relevant references (same label; its own row excluded when the queries are
    the references) and ranked relevance ``rel_1, rel_2, ...``, ``P@i = (1/i) sum_{j<=i} rel_j``:

    - ``map`` = mean over queries of ``AP = (1/R) sum_i rel_i P@i`` over the whole ranking.
    - ``map@r`` = mean of ``MAP@R = (1/R) sum_{i<=R} rel_i P@i`` (Musgrave, Belongie & Lim, "A Metric
      Learning Reality Check", ECCV 2020, eq. 1; ``pytorch_metric_learning``'s
      ``mean_average_precision_at_r``).
    - ``precision@1`` = mean of ``rel_1``.
    - ``recall@k`` = fraction of queries with a relevant reference in the top ``k`` (the R@K of
      metric learning, e.g. Song et al., CVPR 2016).

    Queries with no relevant reference (``R = 0``) have no defined AP and are left out of every metric
    (as ``pytorch_metric_learning`` does); ``"queries"`` reports how many were scored.

    Ties are broken pessimistically: a relevant reference with the same score as an irrelevant one is
    ranked after it, so collapsed (constant) embeddings score as badly as possible, never perfectly.
    The faiss backend keeps this rule: it fetches ``max(R, max(ks)) + 1`` neighbours per query, and a query
    whose cut-off falls inside a tie (two neighbours within ``1e-5`` in float32) is recomputed exactly
    in torch, so both backends give the same numbers. ``map`` needs the whole ranking and is always
    computed by the chunked exact search (memory ``O(chunk_size x G)``).

    Args:
        query_emb: ``(Q, d)`` float tensor or numpy array.
        query_labels: ``(Q,)`` integer labels.
        gallery_emb, gallery_labels: ``(G, d)`` and ``(G,)`` references; both ``None`` for leave-one-out
            retrieval among the queries.
        ks: recall cut-offs (positive integers; a ``k`` beyond the gallery counts the whole gallery).
        backend: ``"torch"`` (exact chunked products), ``"faiss"`` (``IndexFlatIP``; needs the extra) or
            ``"auto"`` (faiss when installed, else torch).
        chunk_size: queries per similarity block.

    Returns:
        ``{"map", "map@r", "precision@1", "recall@<k>"..., "queries"}`` as python floats.
    """
    query = embeddings(query_emb, "query_emb")
    q_lab = labels(query_labels, query.shape[0], "query_labels")
    if (gallery_emb is None) != (gallery_labels is None):
        raise ValueError("gallery_labels: give gallery_emb and gallery_labels together (or neither)")
    self_ref = gallery_emb is None
    if self_ref:
        gallery, g_lab = query, q_lab
    else:
        gallery = embeddings(gallery_emb, "gallery_emb")
        check_same_dim(query, gallery, "query_emb", "gallery_emb")
        g_lab = labels(gallery_labels, gallery.shape[0], "gallery_labels")
    if isinstance(ks, (int, str)) or not isinstance(ks, Sequence) or len(ks) == 0:
        raise ValueError(f"ks: expected a non-empty sequence of positive integers, got {ks!r}")
    ks = tuple(check_positive_int(k, "ks") for k in ks)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "faiss" if faiss_available() else "torch"
    if self_ref and query.shape[0] < 2:
        raise ValueError("query_emb: leave-one-out retrieval needs at least 2 queries")

    query, gallery = same_device_dtype(query, gallery)
    query, gallery = unit_rows(query), unit_rows(gallery)
    g_lab = g_lab.to(query.device)
    q_lab = q_lab.to(query.device)
    n_rel = (q_lab[:, None] == g_lab[None, :]).sum(dim=1) - (1 if self_ref else 0)
    keep = n_rel > 0
    if not bool(keep.any()):
        raise ValueError("query_labels: no query has a reference with its label; nothing to retrieve")

    exact = _exact_metrics(query, q_lab, gallery, g_lab, n_rel, ks, self_ref, chunk_size)
    if backend == "faiss":
        top = _faiss_metrics(query, q_lab, gallery, g_lab, n_rel, ks, self_ref, chunk_size)
        exact = {**exact, **top}
    out = {name: float(values[keep].mean()) for name, values in exact.items()}
    out["map"] = out.pop("ap")
    out["queries"] = float(keep.sum())
    return out


def _exact_metrics(query: Tensor, q_lab: Tensor, gallery: Tensor, g_lab: Tensor, n_rel: Tensor,
                   ks: tuple[int, ...], self_ref: bool, chunk_size: int,
                   rows: Tensor | None = None) -> dict[str, Tensor]:
    """Per-query metrics by exact chunked search over the whole gallery (``rows``: a subset of queries)."""
    rows = torch.arange(query.shape[0], device=query.device) if rows is None else rows
    parts: list[dict[str, Tensor]] = []
    for start in range(0, rows.numel(), chunk_size):
        idx = rows[start:start + chunk_size]
        sims = query[idx] @ gallery.T
        rel = q_lab[idx, None] == g_lab[None, :]
        if self_ref:
            # The query itself: irrelevant and below every real score, so it ranks last and is dropped.
            sims[torch.arange(idx.numel()), idx] = -torch.inf
            rel[torch.arange(idx.numel()), idx] = False
        ranked = _ranked_relevance(sims, rel)
        if self_ref:
            ranked = ranked[:, :-1]
        parts.append(_row_metrics(ranked, n_rel[idx].clamp(min=1), ks))
    return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}


def _faiss_metrics(query: Tensor, q_lab: Tensor, gallery: Tensor, g_lab: Tensor, n_rel: Tensor,
                   ks: tuple[int, ...], self_ref: bool, chunk_size: int) -> dict[str, Tensor]:
    """MAP@R, precision@1 and recall@k from faiss's exact top-K (``IndexFlatIP`` on unit rows)."""
    faiss = _import_faiss()
    n_ref = gallery.shape[0] - (1 if self_ref else 0)
    need = torch.clamp(torch.maximum(n_rel, torch.full_like(n_rel, max(ks))), max=n_ref)  # per query cut-off
    fetch = min(int(need.max()) + 1 + (1 if self_ref else 0), gallery.shape[0])
    index = faiss.IndexFlatIP(gallery.shape[1])
    index.add(np.ascontiguousarray(gallery.detach().cpu().float().numpy()))
    scores, ids = index.search(np.ascontiguousarray(query.detach().cpu().float().numpy()), fetch)
    scores_t = torch.from_numpy(scores).to(torch.float64)
    ids_t = torch.from_numpy(ids).long()
    if self_ref:
        own = ids_t == torch.arange(query.shape[0])[:, None]
        # Move the query itself to the end with the lowest score (then cut it off below).
        scores_t = torch.where(own, torch.tensor(-torch.inf, dtype=torch.float64), scores_t)
    rel = (q_lab.cpu()[:, None] == g_lab.cpu()[ids_t.clamp(min=0)]) & (ids_t >= 0)
    if self_ref:
        rel &= ~own
    ranked = _ranked_relevance(scores_t, rel)
    sorted_scores = torch.sort(scores_t, dim=1, descending=True).values
    width = fetch - (1 if self_ref else 0)
    ranked, sorted_scores = ranked[:, :width], sorted_scores[:, :width]
    # A query is safe when its cut-off lies inside the fetched list and is not inside a tie.
    need_c = need.cpu()
    within = need_c < width
    last = sorted_scores.gather(1, (need_c - 1).clamp(min=0)[:, None]).squeeze(1)
    after = sorted_scores.gather(1, need_c.clamp(max=width - 1)[:, None]).squeeze(1)
    unsafe = (within & (last - after <= _FAISS_TIE_GAP)) | (~within & (need_c < n_ref))
    out = _row_metrics(ranked, n_rel.cpu().clamp(min=1), ks)
    out.pop("ap")
    out = {name: v.to(query.device) for name, v in out.items()}
    redo = unsafe.nonzero().squeeze(1).to(query.device)
    if redo.numel():
        exact = _exact_metrics(query, q_lab, gallery, g_lab, n_rel, ks, self_ref, chunk_size, rows=redo)
        for name in out:
            out[name][redo] = exact[name]
    return out


__all__ = ["BACKENDS", "class_retrieval_metrics", "faiss_available"]
