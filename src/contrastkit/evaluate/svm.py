"""SVM probe: an RBF support-vector classifier on frozen instance embeddings (TS2Vec protocol)."""

from __future__ import annotations

import math

import numpy as np

from contrastkit.evaluate._common import probe_inputs

# TS2Vec's grid for C (``inf``: hard margin); folds of its cross-validation; training-set cap.
SVM_C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, math.inf)
SVM_FOLDS = 5
SVM_MAX_SAMPLES = 10_000


def _check_c(C: object) -> float | None:
    if C is None:
        return None
    if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)):
        raise TypeError(f"C: expected a positive number or None, got {type(C).__name__}")
    c = float(C)
    if math.isnan(c) or c <= 0:
        raise ValueError(f"C: expected a number > 0 (inf allowed: hard margin) or None, got {C}")
    return c


def svm_probe(
    train_emb: object,
    train_labels: object,
    test_emb: object,
    test_labels: object,
    *,
    C: float | None = None,
    seed: int = 0,
) -> float:
    """Test accuracy of an RBF SVM trained on frozen instance embeddings.

    The classification protocol of TS2Vec (Yue et al., AAAI 2022, Sec. 4.1):
    ``sklearn.svm.SVC(kernel="rbf", gamma="scale", C=C)``, i.e. the decision function
    ``f(x) = sum_i a_i y_i exp(-gamma |x_i - x|^2) + b`` with ``gamma = 1 / (d Var(X_train))``
    and ``0 <= a_i <= C`` (one-vs-one for several classes). Embeddings are used as given (TS2Vec
    does not standardise them for the SVM). Computation is in float64 on the CPU.

    With ``C=None`` the margin is chosen as TS2Vec does: a 5-fold (stratified) grid search
    over ``C in {1e-4, 1e-3, ..., 1e4, inf}`` refitted on the whole training set, unless the
    training set is too small for it -- fewer than 50 samples, fewer than 5 per class on average
    (TS2Vec's rule) or, in addition, a class with fewer than 5 samples (a stratified fold would
    miss it) -- in which case a hard-margin ``SVC(C=inf)`` is fitted. Training sets over 10 000
    samples are subsampled to 10 000 (stratified, ``random_state=seed``) for the search.

    Args:
        train_emb, test_emb: ``(n, d)`` float tensors or numpy arrays.
        train_labels, test_labels: integer ids; the training set needs at least two classes.
        C: a fixed margin (``> 0``, ``inf`` allowed) or ``None`` for the search.
        seed: ``random_state`` of the subsampling.

    Returns:
        Fraction of test samples classified correctly.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
    from sklearn.svm import SVC

    xtr, ytr, xte, yte = probe_inputs(train_emb, train_labels, test_emb, test_labels, seed)
    c = _check_c(C)
    counts = np.unique(ytr, return_counts=True)[1]
    if counts.size < 2:
        raise ValueError("train_labels: expected at least two distinct classes for an SVM probe")

    n = xtr.shape[0]
    if c is not None:
        clf = SVC(C=c, kernel="rbf", gamma="scale").fit(xtr, ytr)
    elif n < 50 or n // counts.size < SVM_FOLDS or counts.min() < SVM_FOLDS:
        clf = SVC(C=math.inf, kernel="rbf", gamma="scale").fit(xtr, ytr)
    else:
        if n > SVM_MAX_SAMPLES:
            xtr, _, ytr, _ = train_test_split(xtr, ytr, train_size=SVM_MAX_SAMPLES,
                                              random_state=int(seed), stratify=ytr)
        search = GridSearchCV(SVC(kernel="rbf", gamma="scale"), {"C": list(SVM_C_GRID)},
                              cv=StratifiedKFold(SVM_FOLDS), n_jobs=1)
        clf = search.fit(xtr, ytr).best_estimator_
    return float((clf.predict(xte) == yte).mean())


__all__ = ["SVM_C_GRID", "svm_probe"]
