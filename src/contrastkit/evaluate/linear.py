"""Linear-probe accuracy: logistic regression on frozen, standardised embeddings."""

from __future__ import annotations

import numpy as np

from contrastkit._validation import check_positive_float
from contrastkit.evaluate._common import check_positive_int, probe_inputs


def linear_probe(
    train_emb: object,
    train_labels: object,
    test_emb: object,
    test_labels: object,
    *,
    max_iter: int = 3000,
    C: float = 1.0,
    seed: int = 0,
) -> float:
    """Test accuracy of a linear classifier trained on frozen embeddings (linear evaluation protocol).

    The protocol of Chen et al. (SimCLR, ICML 2020) and Kolesnikov et al. (CVPR 2019) on a small
    scale: ``StandardScaler`` fitted on the training embeddings, then a multinomial
    ``sklearn.linear_model.LogisticRegression(C=C, max_iter=max_iter, random_state=seed)``
    (L2 penalty, lbfgs) minimising ``-sum_i log softmax(W x_i + b)_{y_i} + ||W||^2 / (2C)``.
    Computation is in float64 on the CPU.

    Args:
        train_emb, test_emb: ``(n, d)`` float tensors or numpy arrays.
        train_labels, test_labels: integer ids; the training set needs at least two classes.
        max_iter: lbfgs iterations.
        C: inverse L2 regularisation strength.
        seed: ``random_state`` of the classifier.

    Returns:
        Fraction of test samples classified correctly.
    """
    xtr, ytr, xte, yte = probe_inputs(train_emb, train_labels, test_emb, test_labels, seed)
    max_iter = check_positive_int(max_iter, "max_iter")
    C = check_positive_float(C, "C")
    if np.unique(ytr).size < 2:
        raise ValueError("train_labels: expected at least two distinct classes for a linear probe")
    return float((_fit_predict(xtr, ytr, xte, C, max_iter, seed) == yte).mean())


def _fit_predict(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, C: float, max_iter: int, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(C=C, max_iter=max_iter, random_state=int(seed))
    clf.fit(scaler.transform(xtr), ytr)
    return clf.predict(scaler.transform(xte))


def linear_probe_f1(
    train_emb: object,
    train_labels: object,
    test_emb: object,
    test_labels: object,
    *,
    max_iter: int = 3000,
    C: float = 1.0,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1 and Micro-F1 of the :func:`linear_probe` classifier on the test embeddings.

    The node-classification protocol of heterogeneous-graph contrastive learning (HeCo, Wang et al., KDD
    2021; MEOW, Yu et al., SDM 2023): a logistic regression on frozen embeddings, scored by
    ``sklearn.metrics.f1_score`` with ``average="macro"`` (the unweighted mean of per-class F1 over the
    classes present in ``test_labels`` or predicted) and ``average="micro"`` (equal to accuracy for
    single-label data). Same arguments and errors as :func:`linear_probe`.

    Returns:
        ``{"macro_f1": float, "micro_f1": float}``, each in [0, 1].
    """
    from sklearn.metrics import f1_score

    xtr, ytr, xte, yte = probe_inputs(train_emb, train_labels, test_emb, test_labels, seed)
    max_iter = check_positive_int(max_iter, "max_iter")
    C = check_positive_float(C, "C")
    if np.unique(ytr).size < 2:
        raise ValueError("train_labels: expected at least two distinct classes for a linear probe")
    pred = _fit_predict(xtr, ytr, xte, C, max_iter, seed)
    return {"macro_f1": float(f1_score(yte, pred, average="macro")),
            "micro_f1": float(f1_score(yte, pred, average="micro"))}
