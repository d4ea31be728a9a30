"""Linear-probe accuracy: logistic regression on frozen, standardised embeddings."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit._validation import check_positive_float
from contrastkit.evaluate._common import check_positive_int, embeddings, labels, probe_inputs


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
    probe_inputs(train_emb, train_labels, test_emb, test_labels, seed)
    probe = fit_linear_probe(train_emb, train_labels, max_iter=max_iter, C=C, seed=seed)
    return probe.accuracy(test_emb, test_labels)


class LinearProbe:
    """A fitted linear-evaluation classifier (``StandardScaler`` + ``LogisticRegression``).

    Made by :func:`fit_linear_probe`; :meth:`predict` classifies any further embeddings (clean or
    triggered) with the same frozen classifier, which is what backdoor evaluation needs.
    """

    def __init__(self, scaler: object, classifier: object, dim: int) -> None:
        self._scaler = scaler
        self._clf = classifier
        self.dim = dim

    def predict(self, emb: object) -> torch.Tensor:
        """Predicted class ids ``(n,)`` int64 for ``(n, d)`` embeddings."""
        x = embeddings(emb, "emb")
        if x.shape[1] != self.dim:
            raise ValueError(f"emb: expected {self.dim} columns (the probe's training dimension), got {x.shape[1]}")
        pred = self._clf.predict(self._scaler.transform(x.detach().cpu().double().numpy()))  # type: ignore[attr-defined]
        return torch.from_numpy(np.asarray(pred)).long()

    def accuracy(self, emb: object, labels_: object) -> float:
        """Fraction of rows of ``emb`` classified as ``labels_``."""
        pred = self.predict(emb)
        y = labels(labels_, pred.shape[0], "test_labels")
        return float((pred == y).double().mean())


def fit_linear_probe(train_emb: object, train_labels: object, *, max_iter: int = 3000, C: float = 1.0,
                     seed: int = 0) -> LinearProbe:
    """Fit the classifier of :func:`linear_probe` on frozen embeddings and return it.

    Args: as :func:`linear_probe`. Raises ``ValueError`` with fewer than two classes.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr, ytr, _, _ = probe_inputs(train_emb, train_labels, train_emb, train_labels, seed)
    max_iter = check_positive_int(max_iter, "max_iter")
    C = check_positive_float(C, "C")
    if np.unique(ytr).size < 2:
        raise ValueError("train_labels: expected at least two distinct classes for a linear probe")
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(C=C, max_iter=max_iter, random_state=int(seed))
    clf.fit(scaler.transform(xtr), ytr)
    return LinearProbe(scaler, clf, xtr.shape[1])


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

    _, _, _, yte = probe_inputs(train_emb, train_labels, test_emb, test_labels, seed)
    probe = fit_linear_probe(train_emb, train_labels, max_iter=max_iter, C=C, seed=seed)
    pred = probe.predict(test_emb).numpy()
    return {"macro_f1": float(f1_score(yte, pred, average="macro")),
            "micro_f1": float(f1_score(yte, pred, average="micro"))}
