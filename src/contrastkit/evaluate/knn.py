"""Weighted k-nearest-neighbour classification accuracy on frozen embeddings."""

from __future__ import annotations

import torch

from contrastkit._validation import check_positive_float, check_same_dim
from contrastkit.evaluate._common import (
    check_positive_int,
    embeddings,
    labels,
    same_device_dtype,
    unit_rows,
)


@torch.no_grad()
def knn_accuracy(
    train_emb: object,
    train_labels: object,
    test_emb: object,
    test_labels: object,
    *,
    k: int = 20,
    temperature: float = 0.07,
    chunk_size: int = 1024,
    topk: int = 1,
) -> float:
    """Top-``topk`` accuracy of a temperature-weighted kNN classifier (Wu et al., CVPR 2018, "InstDisc";
    Caron et al., ICCV 2021, "DINO", ``eval_knn.py``).

    For a test embedding ``q`` the ``k`` training embeddings with the largest cosine similarity
    ``s_i = <q, x_i> / (|q| |x_i|)`` vote for their label with weight ``exp(s_i / temperature)``;
    the class with the largest summed weight is predicted::

        score_c(q) = sum_{i in topk(q)} 1[y_i = c] * exp(s_i / tau),   yhat = argmax_c score_c

    Weights are computed as ``exp((s_i - max_j s_j) / tau)``, which leaves the argmax unchanged
    and cannot overflow for small ``tau``. ``k`` larger than the training set is clipped to
    its size. A tie between class scores goes to the smallest label. Test samples are processed
    in chunks of ``chunk_size`` rows, so memory is O(chunk_size x n_train).

    Top-``t`` accuracy (DINO reports ``t = 1`` and ``t = 5``) counts a hit when the true label is
    among the ``t`` classes of largest score **and its score is positive**: a class no neighbour
    voted for never counts, even when fewer than ``t`` classes received votes (DINO's sort would
    count such zero-score classes; here they are not predictions).

    Args:
        train_emb, test_emb: ``(n, d)`` float tensors or numpy arrays.
        train_labels, test_labels: integer ids of length ``n`` (any integer values).
        k: number of neighbours.
        temperature: softness of the vote weights (0.07 as in InstDisc / DINO).
        chunk_size: test rows per similarity block.
        topk: ``t``, the number of top-scoring classes that may contain the true label (1 = accuracy).

    Returns:
        Fraction of test samples whose label is among their ``topk`` predicted classes.
    """
    train = embeddings(train_emb, "train_emb")
    test = embeddings(test_emb, "test_emb")
    check_same_dim(train, test, "train_emb", "test_emb")
    ytr = labels(train_labels, train.shape[0], "train_labels")
    yte = labels(test_labels, test.shape[0], "test_labels")
    k = check_positive_int(k, "k")
    tau = check_positive_float(temperature, "temperature")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    topk = check_positive_int(topk, "topk")

    train, test = same_device_dtype(train, test)
    train, test = unit_rows(train), unit_rows(test)
    classes, ytr_idx = torch.unique(ytr.to(train.device), return_inverse=True)
    yte = yte.to(train.device)
    k = min(k, train.shape[0])
    n_cls = classes.numel()

    correct = 0
    for start in range(0, test.shape[0], chunk_size):
        sims = test[start:start + chunk_size] @ train.T  # (c, n_train)
        top_s, top_i = sims.topk(k, dim=1)
        weights = torch.exp((top_s - top_s[:, :1]) / tau)
        votes = torch.zeros(top_s.shape[0], n_cls, dtype=weights.dtype, device=weights.device)
        votes.scatter_add_(1, ytr_idx[top_i], weights)
        truth = yte[start:start + chunk_size]
        if topk == 1:
            pred = classes[votes.argmax(dim=1)]
            correct += int((pred == truth).sum())
            continue
        # stable descending sort: equal scores keep label order, so ties go to the smallest label
        order_s, order_i = votes.sort(dim=1, descending=True, stable=True)
        t = min(topk, n_cls)
        hit = (classes[order_i[:, :t]] == truth[:, None]) & (order_s[:, :t] > 0)
        correct += int(hit.any(dim=1).sum())
    return correct / test.shape[0]
