"""Soft-label contrastive losses: targets from the similarity of the labels themselves.

- :class:`SoftLabelInfoNCE` (Dialog2Flow): soft targets from a frozen encoder's similarities of the label
  *texts*, symmetric InfoNCE.
- :func:`views_tile`: lifts a sample-level soft-positive tile callable (e.g. SPACE-2's semantic-tree
  scores) to the stacked two-view rows of ``InfoNCE(mode="two_view")``, so a soft-mask SupCon runs tiled.

Both are compositions of :class:`~contrastkit.losses.InfoNCE` with ``weights=``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_embeddings,
    check_labels,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_same_shape,
)
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE

TileFn = Callable[[slice, slice], Tensor]


def label_similarity_weights(labels: Tensor, label_embeddings: Tensor, temperature: float) -> TileFn:
    """Dialog2Flow's unnormalised soft targets as a tile callable over the batch's ``(N, N)`` pairs.

    ``E_ij = exp((cos(g(l_{y_i}), g(l_{y_j})) - 1) / tau')`` with ``g(l)`` the frozen label embeddings
    ``label_embeddings`` ``(G, d_g)`` and ``y`` = ``labels`` ``(N,)`` indices into them. ``E`` is symmetric
    with ``E_ii = 1`` (identical label texts have cosine 1 exactly), so normalising its rows gives the
    paper's ``Y_ij = softmax_j(cos(g_i, g_j) / tau')`` in both directions of the symmetric loss, and
    ``tau' -> 0`` leaves 1 on same-label pairs and 0 elsewhere (the hard targets). Computed in float64
    under ``no_grad``: no gradient reaches the label encoder. Only the ``(G, G)`` label matrix is stored.
    """
    with torch.no_grad():
        g = normalize(label_embeddings.detach().double(), dim=-1)
        cos = (g @ g.T).clamp(-1.0, 1.0)
        cos.fill_diagonal_(1.0)
        table = torch.exp((cos - 1.0) / temperature)
    index = labels.to(table.device)

    def tile(rows: slice, cols: slice) -> Tensor:
        return table[index[rows]][:, index[cols]]

    return tile


def views_tile(fn: TileFn, n: int, n_views: int = 2) -> TileFn:
    """A tile callable over ``n_views`` stacked views of ``n`` samples from one over the samples.

    Row ``r`` of the stacked batch is sample ``r mod n``; a requested tile is assembled from calls of ``fn``
    over contiguous sample ranges (at most ``n_views`` per side). Use it to give
    ``InfoNCE(mode="two_view")`` sample-level soft positives as a callable (a dense ``(n, n)`` tensor is
    repeated by the loss itself). The anchor's own row is excluded by the loss; its other view keeps
    ``fn``'s diagonal weight (1 for SPACE-2's score matrix). A request beyond ``n_views * n`` rows (a batch
    that does not match ``n``) raises ``ValueError`` naming ``weights``.
    """
    n = check_positive_int(n, "n")
    n_views = check_positive_int(n_views, "n_views")

    def runs(s: slice) -> list[slice]:
        if s.stop > n * n_views:  # a batch larger than the samples fn describes: refuse, never wrap silently
            raise ValueError(f"weights: the tile callable describes {n_views} views x {n} samples = "
                             f"{n * n_views} rows, but rows/columns up to {s.stop} were requested (is n the batch "
                             "size?)")
        start, stop, _ = s.indices(n * n_views)
        out = []
        while start < stop:
            end = min(stop, (start // n + 1) * n)
            out.append(slice(start % n, (end - 1) % n + 1))
            start = end
        return out

    def tile(rows: slice, cols: slice) -> Tensor:
        row_runs, col_runs = runs(rows), runs(cols)
        if not row_runs or not col_runs:
            probe = fn(slice(0, 1), slice(0, 1))
            return probe.new_zeros(sum(r.stop - r.start for r in row_runs), sum(c.stop - c.start for c in col_runs))
        return torch.cat([torch.cat([fn(r, c) for c in col_runs], 1) for r in row_runs], 0)

    return tile


class SoftLabelInfoNCE(ContrastiveLoss):
    """Dialog2Flow's soft contrastive loss (Burdisso et al., EMNLP 2024, "Dialog2Flow: Pre-training
    Soft-Contrastive Action-Driven Sentence Embeddings for Automatic Dialog Flow Extraction"; official code
    idiap/dialog2flow ``train/spretrainer/losses/LabeledContrastiveLoss.py``).

    A batch holds ``N`` pairs ``(a_i, b_i)`` of utterances sharing the label ``y_i``; ``S_ij = cos(a_i, b_j)
    / tau``; soft targets ``Y_ij = softmax_j(cos(g(l_{y_i}), g(l_{y_j})) / tau')`` from a *frozen* encoder
    ``g`` of the label texts (:func:`label_similarity_weights`)::

        L = 0.5 * [ CE(S, Y) + CE(S^T, Y) ],   CE(S, Y) = -(1/N) sum_i sum_j Y_ij log softmax_j(S_ij)

    This is :class:`~contrastkit.losses.InfoNCE` ``(mode="symmetric")`` with soft ``weights=`` (its
    multi-positive form normalises each row of the weights, which gives ``Y``). ``tau' -> 0`` with distinct
    labels is sentence-transformers' ``MultipleNegativesSymmetricRankingLoss(scale=1/tau)``; with duplicated
    labels it is the hard (uniform over same-label candidates) loss, Dialog2Flow's D2F-Hard. Paper defaults
    ``tau = 0.05``, ``tau' = 0.35``.

    Call: ``loss(a, b, *, labels, label_embeddings, temperature=None)`` with ``a``, ``b`` ``(N, d)``,
    ``labels`` ``(N,)`` int64 indices into ``label_embeddings`` ``(G, d_g)`` (the frozen label encoder's
    output; detached here). Raises ``ValueError`` naming ``labels`` for an index outside ``0..G-1``.
    """

    citation: ClassVar[str] = (
        "Burdisso et al. 2024, EMNLP, Dialog2Flow: Pre-training Soft-Contrastive Action-Driven Sentence "
        "Embeddings for Automatic Dialog Flow Extraction"
    )
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "label_temperature", "tile_size")

    def __init__(self, temperature: float = 0.05, *, label_temperature: float = 0.35,
                 tile_size: int | str | None = "auto", reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.label_temperature = check_positive_float(label_temperature, "label_temperature")
        self._infonce = InfoNCE(self.temperature, mode="symmetric", reduction=reduction, tile_size=tile_size)
        self.tile_size = self._infonce.tile_size

    def forward(self, a: Tensor, b: Tensor, *, labels: Tensor, label_embeddings: Tensor,
                temperature: Tensor | float | None = None) -> Tensor:
        """Symmetric soft-target loss of the pairs ``(a_i, b_i)``; see the class docstring."""
        check_same_device({"a": a, "b": b, "labels": labels, "label_embeddings": label_embeddings},
                          cpu_ok=("labels",))
        check_embeddings(a, "a")
        if b is None:
            raise ValueError("b: SoftLabelInfoNCE needs the (N, d) second utterance of each pair")
        check_embeddings(b, "b")
        check_same_shape(a, b, "a", "b")
        labels = check_labels(labels, a.shape[0])
        label_embeddings = check_embeddings(label_embeddings, "label_embeddings")
        g = label_embeddings.shape[0]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= g):
            raise ValueError(f"labels: expected indices into the {g} rows of label_embeddings (0..{g - 1}), got "
                             f"min {int(labels.min())}, max {int(labels.max())}")
        weights = label_similarity_weights(labels.to(a.device), label_embeddings.to(a.device),
                                           self.label_temperature)
        return self._infonce(a, b, weights=weights, temperature=temperature)


__all__ = ["SoftLabelInfoNCE", "label_similarity_weights", "views_tile"]
