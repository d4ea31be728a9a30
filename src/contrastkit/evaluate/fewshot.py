"""Few-shot evaluation of embeddings: prototype (nearest class centroid) classification and class-centroid
geometry."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import Tensor

from contrastkit._validation import check_positive_int
from contrastkit.evaluate._common import as_tensor, embeddings, unit_rows
from contrastkit.evaluate.similarity import similarity_matrix_spearman


def _labels(labels: object, n: int) -> Tensor:
    y = as_tensor(labels, "labels")
    if isinstance(y, (list, tuple)):
        with contextlib.suppress(TypeError, ValueError, RuntimeError):  # ragged or non-numeric: reported below
            y = torch.as_tensor(y)
    if not isinstance(y, Tensor) or y.dim() != 1 or y.shape[0] != n or y.dtype.is_floating_point \
            or y.dtype.is_complex:
        got = f"{tuple(y.shape)} {y.dtype}" if isinstance(y, Tensor) else type(labels).__name__
        raise ValueError(f"labels: expected ({n},) integer class ids (one per row of emb), got {got}")
    return y.long().cpu()


def class_centroids(emb: object, labels: object) -> tuple[Tensor, Tensor]:
    """``(classes (G,), centroids (G, d))``: the mean of the L2-normalised rows of each class (sorted ids)."""
    x = unit_rows(embeddings(emb, "emb").double())
    y = _labels(labels, x.shape[0]).to(x.device)
    classes = torch.unique(y)
    return classes, torch.stack([x[y == c].mean(0) for c in classes])


def few_shot_prototype_f1(emb: object, labels: object, *, shots: int, episodes: int = 20, seed: int = 0) -> float:
    """Macro-F1 of nearest-prototype classification, averaged over ``episodes`` random episodes.

    Per episode, ``shots`` rows of every class are drawn as the support set (``numpy`` generator seeded by
    ``seed``); each class prototype is the mean of its L2-normalised support rows; every other row (the
    queries) is assigned the class of the most cosine-similar prototype; the episode's score is the macro-F1
    over the classes (``sklearn.metrics.f1_score``). This is the few-shot protocol of Dialog2Flow's
    evaluation (Burdisso et al., EMNLP 2024) with prototypes as the classifier.

    Args:
        emb: ``(n, d)`` embeddings. labels: ``(n,)`` integer class ids.
        shots: support rows per class (every class needs at least ``shots + 1`` rows).
    Raises ``ValueError`` naming ``labels`` when a class is too small, ``emb`` / ``shots`` for bad input.
    """
    from sklearn.metrics import f1_score

    x = unit_rows(embeddings(emb, "emb").double())
    y = _labels(labels, x.shape[0])
    shots = check_positive_int(shots, "shots")
    episodes = check_positive_int(episodes, "episodes")
    classes, counts = torch.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("labels: expected at least 2 classes")
    if int(counts.min()) <= shots:
        small = int(classes[counts.argmin()])
        raise ValueError(f"labels: class {small} has {int(counts.min())} rows; {shots}-shot needs at least {shots + 1}")
    rng = np.random.default_rng(seed)
    rows = {int(c): (y == c).nonzero(as_tuple=True)[0].numpy() for c in classes}
    scores = []
    for _ in range(episodes):
        support = {c: rng.choice(r, size=shots, replace=False) for c, r in rows.items()}
        protos = torch.stack([x[torch.from_numpy(s)].mean(0) for s in support.values()])
        query = np.setdiff1d(np.arange(len(y)), np.concatenate(list(support.values())))
        pred = classes[(x[torch.from_numpy(query)] @ protos.T).argmax(1).cpu()]
        scores.append(f1_score(y[query].numpy(), pred.numpy(), average="macro", labels=classes.numpy()))
    return float(np.mean(scores))


def centroid_similarity_spearman(emb: object, labels: object, reference: object) -> float:
    """Spearman's rho between the cosine similarities of the class centroids (:func:`class_centroids`, all
    pairs of classes ``i < j``) and a reference ``(G, G)`` class-similarity matrix, rows in sorted class-id
    order (e.g. the label texts' similarities under a frozen encoder). Raises ``ValueError`` naming
    ``reference`` on a shape mismatch, NaN/inf entries or a constant upper triangle, ``labels`` for fewer
    than 3 classes (fewer than 3 pairs), ``emb`` for centroids that are all equally similar."""
    _, centroids = class_centroids(emb, labels)
    ref = as_tensor(reference, "reference")
    g = centroids.shape[0]
    if not isinstance(ref, Tensor) or tuple(ref.shape) != (g, g):
        raise ValueError(f"reference: expected a ({g}, {g}) matrix (one row per class), got "
                         f"{tuple(getattr(ref, 'shape', ()))}")
    if ref.dtype == torch.bool or ref.dtype.is_complex:
        raise TypeError(f"reference: expected real numbers, got {ref.dtype}")
    # the checks of similarity_matrix_spearman, named after this function's arguments
    if g < 3:
        raise ValueError(f"labels: the centroid Spearman needs at least 3 classes (3 pairs), got {g}")
    iu = torch.triu_indices(g, g, offset=1)
    upper = ref.double()[iu[0], iu[1]]
    if not bool(torch.isfinite(upper).all()):
        raise ValueError("reference: contains NaN or inf values above the diagonal")
    if float(upper.max() - upper.min()) == 0.0:
        raise ValueError("reference: every pair of classes has the same reference similarity; Spearman's rho "
                         "is undefined")
    return similarity_matrix_spearman(centroids, ref)


__all__ = ["centroid_similarity_spearman", "class_centroids", "few_shot_prototype_f1"]
