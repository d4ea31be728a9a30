"""Sentence-embedding contrastive losses: SimCSE (unsupervised dropout views and the supervised triplet form)
and the input-label contrast that scores inputs against encoded label texts.

All are presets / compositions of :class:`~contrastkit.losses.infonce.InfoNCE` (one direction, ``a -> b``):
no new log-sum-exp is written here.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from contrastkit._validation import check_embeddings, check_labels
from contrastkit.losses.infonce import _BASE_KEYS, InfoNCE


def _finite_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


class SimCSE(InfoNCE):
    """SimCSE's contrastive objective (Gao, Yao & Chen, EMNLP 2021, "SimCSE: Simple Contrastive Learning of
    Sentence Embeddings", Eq. 1 unsupervised and Eq. 5 supervised; official code ``simcse/models.py``,
    ``cl_forward``).

    ``loss(z1, z2)``: ``z1``, ``z2`` ``(N, d)`` are two encodings of the same ``N`` sentences (unsupervised:
    two forwards in train mode, so the dropout masks differ). With ``l_ij = cos(z1_i, z2_j) / tau``::

        L_i = -l_ii + log sum_j exp(l_ij)                                    (N - 1 in-batch negatives)

    ``loss(z1, z2, negatives=z3)`` adds the hard negatives ``z3`` ``(N, d)`` (supervised SimCSE: entailment
    positives, contradiction negatives) as extra columns ``cos(z1_i, z3_j) / tau``; ``hard_negative_weight``
    ``w`` is added to the logit of each anchor's *own* hard negative (the official code's
    ``hard_negative_weight``, a log-weight: here the denominator weight ``q_ii = exp(w)``, so ``w = 0`` is the
    plain form). This is ``InfoNCE(mode="a_to_b")`` with ``denominator_weights=``; it equals
    sentence-transformers' ``MultipleNegativesRankingLoss(scale=1/tau)`` when ``w = 0``.

    Args:
        temperature: ``tau`` (paper default 0.05).
        hard_negative_weight: ``w`` (finite; default 0).
        reduction, similarity, tile_size, ...: as :class:`InfoNCE` (``mode`` is fixed to ``a_to_b``).

    Call: ``loss(z1, z2, *, negatives=None, denominator_weights=None)``; shapes ``(N, d)``; returns a scalar
    (``reduction="none"``: ``(N,)``). Raises ``ValueError`` on mismatched shapes, non-finite inputs, or
    ``hard_negative_weight`` with no ``negatives`` of ``N`` rows.
    """

    citation: ClassVar[str] = "Gao, Yao & Chen 2021, EMNLP, SimCSE: Simple Contrastive Learning of Sentence Embeddings"
    _config_keys: ClassVar[tuple[str, ...]] = tuple(k for k in _BASE_KEYS if k != "mode") + ("hard_negative_weight",)

    def __init__(self, temperature: float = 0.05, *, hard_negative_weight: float = 0.0, **kwargs: Any) -> None:
        if "mode" in kwargs:
            raise TypeError("mode: fixed to 'a_to_b' by SimCSE (anchor z1 against the candidates z2); "
                            "use InfoNCE(mode=...) for another")
        super().__init__(temperature, mode="a_to_b", **kwargs)
        self.hard_negative_weight = _finite_float(hard_negative_weight, "hard_negative_weight")

    def forward(self, a: Tensor, b: Tensor | None = None, **kwargs: Any) -> Tensor:  # type: ignore[override]
        """SimCSE loss of ``z1 = a`` against ``z2 = b`` (and ``negatives=``); see the class docstring."""
        if b is None:
            raise ValueError("b: SimCSE needs the second view z2 (N, d): loss(z1, z2)")
        negatives = kwargs.get("negatives")
        if self.hard_negative_weight != 0.0:
            if negatives is None or not isinstance(negatives, Tensor) or negatives.shape[0] != a.shape[0]:
                raise ValueError("negatives: hard_negative_weight needs one hard negative per anchor "
                                 f"(negatives of shape ({a.shape[0]}, d))")
            if kwargs.get("denominator_weights") is not None:
                raise ValueError("denominator_weights: give either hard_negative_weight or denominator_weights")
            n = a.shape[0]
            q = torch.ones(n, 2 * n, dtype=torch.float32, device=a.device)
            q[:, n:].diagonal().fill_(math.exp(self.hard_negative_weight))
            kwargs["denominator_weights"] = q
        return super().forward(a, b, **kwargs)


class InputLabelInfoNCE(InfoNCE):
    """Input-label contrast (Rethmeier & Augenstein, "A Primer on Contrastive Pretraining in Language
    Processing", ACM CSUR 2023, §"input-label contrastive"): inputs ``x`` ``(N, d)`` scored against label
    embeddings ``g`` ``(C, d)`` (a label's text encoded by the text tower), the gold label the positive and
    the other labels (all of them, or a per-anchor sample) the negatives::

        L_i = -s(x_i, g_{y_i}) / tau + log sum_{c in C_i} exp(s(x_i, g_c) / tau)

    With every label as candidate this is ``F.cross_entropy(s(x, g) / tau, y)``: a linear classifier whose
    weights are the encoded label texts, so new labels are new text (zero-shot). Computed as listwise
    ``InfoNCE`` (``candidates=`` ``(N, C, d)``, ``positive_index=y``); input-input contrast is the same
    :class:`InfoNCE` called on two inputs (see :func:`contrastive_pairs`).

    Call: ``loss(x, label_embeddings, labels, *, candidate_labels=None)``; ``labels`` ``(N,)`` int in
    ``[0, C)``; ``candidate_labels`` ``(N, K)`` int indices into the label table (each row must contain its
    gold label) restricts the negatives. Returns a scalar (``reduction="none"``: ``(N,)``).
    Raises ``ValueError`` naming the argument on bad shapes, labels out of range, or a candidate row without
    its gold label.
    """

    citation: ClassVar[str] = "Rethmeier & Augenstein 2023, ACM Computing Surveys, A Primer on Contrastive " \
                              "Pretraining in Language Processing"
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "similarity", "no_positive")

    def __init__(self, temperature: float = 0.1, **kwargs: Any) -> None:
        for key in ("mode", "gather_distributed", "duplicates"):
            if key in kwargs:
                raise TypeError(f"{key}: not an option of InputLabelInfoNCE (listwise over label candidates)")
        super().__init__(temperature, tile_size=None, **kwargs)

    def forward(self, a: Tensor, b: Tensor | None = None, labels: Tensor | None = None, *,  # type: ignore[override]
                candidate_labels: Tensor | None = None, **kwargs: Any) -> Tensor:
        """Input-label InfoNCE of inputs ``a`` against the label table ``b``; see the class docstring."""
        if kwargs:
            raise TypeError(f"{sorted(kwargs)}: InputLabelInfoNCE takes (x, label_embeddings, labels, "
                            "candidate_labels=)")
        check_embeddings(a, "x")
        if b is None:
            raise ValueError("label_embeddings: expected a (C, d) table of encoded labels, got None")
        check_embeddings(b, "label_embeddings")
        if b.shape[1] != a.shape[1]:
            raise ValueError(f"label_embeddings: expected width {a.shape[1]} (that of x), got {b.shape[1]}")
        if labels is None:
            raise ValueError("labels: expected (N,) gold label indices, got None")
        y = check_labels(labels, a.shape[0]).to(a.device)
        n_labels = b.shape[0]
        if int(y.min()) < 0 or int(y.max()) >= n_labels:
            raise ValueError(f"labels: expected indices in [0, {n_labels}), got range [{int(y.min())}, {int(y.max())}]")
        if candidate_labels is None:
            index = torch.arange(n_labels, device=a.device).expand(a.shape[0], n_labels)
        else:
            if not isinstance(candidate_labels, Tensor) or candidate_labels.dim() != 2 \
                    or candidate_labels.shape[0] != a.shape[0] or candidate_labels.dtype.is_floating_point:
                raise ValueError(f"candidate_labels: expected an ({a.shape[0]}, K) integer tensor, got "
                                 f"{getattr(candidate_labels, 'shape', candidate_labels)!r}")
            index = candidate_labels.to(a.device).long()
            if int(index.min()) < 0 or int(index.max()) >= n_labels:
                raise ValueError(f"candidate_labels: expected indices in [0, {n_labels})")
        hit = index == y[:, None]
        if not bool(hit.any(dim=1).all()):
            raise ValueError("candidate_labels: every row must contain its gold label")
        positive_index = hit.float().argmax(dim=1)
        return super().forward(a, None, candidates=b[index], positive_index=positive_index)


def contrastive_pairs(source: str, loss: InfoNCE, inputs: Tensor, partner: Tensor, *,
                      labels: Tensor | None = None) -> Tensor:
    """One entry point for both families of the Primer taxonomy, over the same InfoNCE.

    ``source="input_input"``: ``partner`` ``(N, d)`` is a second view / related input of each row of
    ``inputs`` (``loss(inputs, partner)``, in-batch negatives). ``source="input_label"``: ``partner``
    ``(C, d)`` is the encoded label table and ``labels`` ``(N,)`` the gold labels (``loss`` must be an
    :class:`InputLabelInfoNCE`). Raises ``ValueError`` on an unknown source or a missing ``labels``.
    """
    if source == "input_input":
        if labels is not None:
            raise ValueError("labels: input_input contrast pairs rows with partner rows; labels are not used")
        return loss(inputs, partner)
    if source == "input_label":
        if not isinstance(loss, InputLabelInfoNCE):
            raise TypeError(f"loss: input_label contrast needs an InputLabelInfoNCE, got {type(loss).__name__}")
        return loss(inputs, partner, labels)
    raise ValueError(f"source: expected 'input_input' or 'input_label', got {source!r}")


__all__ = ["InputLabelInfoNCE", "SimCSE", "contrastive_pairs"]
