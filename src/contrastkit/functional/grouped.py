"""Many independent InfoNCE problems with one positive pattern, solved in one batched call.

Used where a loss is a mean over groups that never see each other: TS2Vec's instance contrast (one
problem per time step) and temporal contrast (one per series), AutoTCL's per-series segments.
For per-anchor candidate lists (each anchor against its own ``K`` candidates) use
``InfoNCE(...)(a, candidates=..., positive_index=...)`` instead.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit._validation import check_embeddings, check_positive_float, compute_dtype
from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.similarity import Similarity, get_similarity


def grouped_infonce(
    anchors: Tensor, candidates: Tensor, positive_weight: Tensor, valid: Tensor, *,
    temperature: float = 1.0, similarity: str | Similarity = "dot",
) -> Tensor:
    """``G`` independent InfoNCE problems with the same positive pattern, solved in one batch.

    ``anchors``: ``(G, A, D)``, ``candidates``: ``(G, C, D)``; ``positive_weight`` / ``valid``:
    ``(A, C)`` tiles as produced by :meth:`contrastkit.functional.positives.Positives.dense`.
    Every problem uses the core row form :func:`~contrastkit.functional.forms.info_nce_rows`:
    ``L_gi = -sum_j p_ij l_gij / sum_j p_ij + log sum_{j valid} exp(l_gij)``, ``l = s / tau``.
    Returns ``(G, A)`` per-anchor losses (0 for anchors without positives).
    """
    check_embeddings(anchors, "anchors", rank=3, finite=False)
    check_embeddings(candidates, "candidates", rank=3, finite=False)
    g, a, _ = anchors.shape
    c = candidates.shape[1]
    if candidates.shape[0] != g or candidates.shape[2] != anchors.shape[2]:
        raise ValueError(f"candidates: expected shape ({g}, C, {anchors.shape[2]}), got {tuple(candidates.shape)}")
    for name, tile in (("positive_weight", positive_weight), ("valid", valid)):
        if tuple(tile.shape) != (a, c):
            raise ValueError(f"{name}: expected shape ({a}, {c}) (anchors x candidates), got {tuple(tile.shape)}")
    tau = check_positive_float(temperature, "temperature")
    sim = get_similarity(similarity)
    dtype = compute_dtype(anchors, candidates)
    logits = sim.pairwise(sim.prepare(anchors).to(dtype), sim.prepare(candidates).to(dtype)) / tau
    loss, _ = info_nce_rows(logits.reshape(g * a, c), positive_weight.to(dtype).repeat(g, 1),
                            valid.to(torch.bool).repeat(g, 1))
    return loss.view(g, a)


__all__ = ["grouped_infonce"]
