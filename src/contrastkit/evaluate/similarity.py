"""Semantic similarity and pair classification on embeddings: Spearman against human scores, max-F1.

- :func:`sts_spearman`: Spearman's rho between the cosine of paired rows and gold scores (the STS protocol
  of SentEval / Sentence-BERT, Reimers & Gurevych, EMNLP 2019, section 4.1; also word similarity on
  WordSim353 / SimLex-999 with word embeddings).
- :func:`similarity_matrix_spearman`: the same over all pairs ``i < j`` of a set, against a human similarity
  matrix (the Lee, Pincombe & Welsh 2005 50-document benchmark; gensim ``test_lee.py``).
- :func:`max_f1`: the best F1 over all decision thresholds of pair scores (the "max F1" of the MTEB
  pair-classification task, Muennighoff et al., EACL 2023).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from contrastkit._validation import check_bool, check_same_shape
from contrastkit.evaluate._common import as_tensor, embeddings, same_device_dtype, unit_rows


def _vector(x: object, name: str, n: int | None = None) -> np.ndarray:
    t = as_tensor(x, name)
    if isinstance(t, (list, tuple)):
        t = torch.as_tensor(t, dtype=torch.float64)
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a 1-D tensor, numpy array or list of numbers, got {type(x).__name__}")
    if t.dim() != 1:
        raise ValueError(f"{name}: expected a 1-D vector, got shape {tuple(t.shape)}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per pair), got {t.shape[0]}")
    if t.dtype == torch.bool or t.dtype.is_complex:
        raise TypeError(f"{name}: expected real numbers, got {t.dtype}")
    v = t.detach().cpu().double().numpy()
    if not np.isfinite(v).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return v


def _spearman(pred: np.ndarray, gold: np.ndarray, what: str) -> float:
    from scipy.stats import spearmanr

    if pred.size < 3:
        raise ValueError(f"gold: Spearman's rho needs at least 3 pairs, got {pred.size}")
    if np.ptp(gold) == 0:
        raise ValueError("gold: all gold scores are equal; Spearman's rho is undefined")
    if np.ptp(pred) == 0:
        # collapsed embeddings: say so instead of returning scipy's NaN
        raise ValueError(f"{what}: every pair has the same cosine similarity (collapsed embeddings); "
                         "Spearman's rho is undefined")
    return float(spearmanr(pred, gold).statistic)


@torch.no_grad()
def pair_cosine(emb_a: object, emb_b: object) -> Tensor:
    """Row-wise cosine similarity ``(n,)`` float64 of two ``(n, d)`` embedding sets."""
    a = embeddings(emb_a, "emb_a")
    b = embeddings(emb_b, "emb_b")
    check_same_shape(a, b, "emb_a", "emb_b")
    a, b = same_device_dtype(a, b)
    return (unit_rows(a.double()) * unit_rows(b.double())).sum(dim=1).cpu()


def sts_spearman(emb_a: object, emb_b: object, gold: object) -> float:
    """Spearman's rho between ``cos(emb_a[i], emb_b[i])`` and ``gold[i]`` (ties get average ranks).

    Args:
        emb_a, emb_b: ``(n, d)`` float tensors or arrays, row ``i`` of each being pair ``i``.
        gold: ``(n,)`` human scores (any scale: only their order counts).

    Returns rho in ``[-1, 1]`` as a python float. Raises ``ValueError`` for fewer than 3 pairs, constant
    gold scores, or embeddings that give every pair the same cosine (rho undefined).
    """
    cos = pair_cosine(emb_a, emb_b).numpy()
    return _spearman(cos, _vector(gold, "gold", cos.size), "emb_a")


@torch.no_grad()
def similarity_matrix_spearman(emb: object, human: object) -> float:
    """Spearman's rho between the cosine similarities of all pairs ``i < j`` of ``emb`` ``(n, d)`` and the
    human similarity matrix ``human`` ``(n, n)`` (only its upper triangle is read; for the Lee corpus,
    1225 pairs). Raises ``ValueError`` on shape mismatch or collapsed embeddings."""
    x = embeddings(emb, "emb")
    h = as_tensor(human, "human")
    if not isinstance(h, Tensor) or h.dim() != 2 or tuple(h.shape) != (x.shape[0], x.shape[0]):
        raise ValueError(f"human: expected an ({x.shape[0]}, {x.shape[0]}) matrix (one row per embedding), "
                         f"got {tuple(getattr(h, 'shape', ()))}")
    iu = torch.triu_indices(x.shape[0], x.shape[0], offset=1)
    u = unit_rows(x.double())
    cos = (u @ u.T)[iu[0], iu[1]].cpu().numpy()
    gold = _vector(h.double()[iu[0], iu[1]], "human")
    return _spearman(cos, gold, "emb")


def max_f1(scores: object, labels: object, *, return_threshold: bool = False) -> float | dict[str, float]:
    """The best F1 of the rule ``predict positive iff score >= t`` over every threshold ``t``.

    ``F1 = 2 TP / (2 TP + FP + FN)``. Only thresholds at the observed scores can change the prediction,
    so the sweep visits each distinct score once (sorted, cumulative counts: ``O(n log n)``); pairs with
    equal scores are always on the same side. This equals a brute-force sweep over all thresholds
    (tested against ``sklearn.metrics.f1_score``).

    Args:
        scores: ``(n,)`` real pair scores (e.g. cosine similarities), higher = more likely positive.
        labels: ``(n,)`` 0/1 or bool gold labels, with at least one positive.
        return_threshold: also return the threshold and the precision / recall there.

    Returns:
        the max F1 as a float, or ``{"f1", "threshold", "precision", "recall"}`` (the highest threshold
        reaching the max).
    """
    s = _vector(scores, "scores")
    y = as_tensor(labels, "labels")
    if isinstance(y, (list, tuple)):
        y = torch.as_tensor(y)
    if not isinstance(y, Tensor) or y.dim() != 1 or y.shape[0] != s.size:
        raise ValueError(f"labels: expected a 1-D vector of {s.size} values (one per score), got "
                         f"{tuple(getattr(y, 'shape', ()))}")
    if y.dtype.is_floating_point and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("labels: expected 0/1 values")
    yv = y.detach().cpu().numpy().astype(np.int64)
    if not np.isin(yv, (0, 1)).all():
        raise ValueError("labels: expected 0/1 values")
    n_pos = int(yv.sum())
    if n_pos == 0:
        raise ValueError("labels: no positive pair; F1 is undefined")
    check_bool(return_threshold, "return_threshold")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], yv[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1 - y_sorted)
    # the last index of each run of equal scores: a threshold at that score predicts the whole run positive
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp, fp = tp[last], fp[last]
    f1 = 2 * tp / (2 * tp + fp + (n_pos - tp))
    best = int(np.argmax(f1))  # first max = highest threshold
    if not return_threshold:
        return float(f1[best])
    return {"f1": float(f1[best]), "threshold": float(s_sorted[last[best]]),
            "precision": float(tp[best] / (tp[best] + fp[best])), "recall": float(tp[best] / n_pos)}


__all__ = ["max_f1", "pair_cosine", "similarity_matrix_spearman", "sts_spearman"]
