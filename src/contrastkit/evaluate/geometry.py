"""Geometry of an embedding space: alignment, uniformity, tolerance, relative penalty, effective rank."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit._validation import (
    check_labels,
    check_positive_float,
    check_same_dim,
    check_same_shape,
    compute_dtype,
)
from contrastkit.evaluate._common import (
    as_tensor,
    check_positive_int,
    embeddings,
    unit_rows,
)
from contrastkit.evaluate._common import labels as int_labels
from contrastkit.functional.geometry import alignment_term, uniformity_term


@torch.no_grad()
def alignment(z1: object, z2: object, *, alpha: float = 2) -> float:
    """Alignment of positive pairs (Wang & Isola, ICML 2020, "Understanding contrastive ...").

    ``L_align = E_{(x,y) ~ p_pos} ||f(x) - f(y)||_2^alpha`` with ``f`` the L2-normalised
    embedding; row ``i`` of ``z1`` and row ``i`` of ``z2`` form a positive pair. Lower is better
    aligned; the value lies in ``[0, 2^alpha]``.

    Args:
        z1, z2: ``(n, d)`` embeddings of the two sides of ``n`` positive pairs (rows are
            normalised here).
        alpha: exponent (2 in the paper).
    """
    a = embeddings(z1, "z1")
    b = embeddings(z2, "z2")
    check_same_shape(a, b, "z1", "z2")
    alpha = check_positive_float(alpha, "alpha")
    dtype = compute_dtype(a, b)
    a, b = unit_rows(a.to(dtype)), unit_rows(b.to(device=a.device, dtype=dtype))
    return float(alignment_term(a, b, alpha=alpha))


@torch.no_grad()
def uniformity(z: object, *, t: float = 2, chunk_size: int = 2048) -> float:
    """Uniformity of the embeddings on the hypersphere (Wang & Isola, ICML 2020).

    ``L_uniform = log E_{i<j} exp(-t ||f(x_i) - f(x_j)||_2^2)`` over the ``n(n-1)/2`` distinct
    pairs of L2-normalised rows, computed as ``logsumexp(-t d_ij^2) - log(n(n-1)/2)`` so that it
    cannot underflow. Lower (more negative) is more uniform; the value lies in ``[-4t, 0]``,
    0 meaning full collapse. Row blocks of ``chunk_size`` keep memory O(chunk_size x n).

    Args:
        z: ``(n, d)`` embeddings, ``n >= 2``.
        t: the Gaussian-potential scale (2 in the paper).
    """
    x = embeddings(z, "z")
    if x.shape[0] < 2:
        raise ValueError(f"z: uniformity needs at least 2 rows, got shape {tuple(x.shape)}")
    t = check_positive_float(t, "t")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    return float(uniformity_term(unit_rows(x), t=t, chunk_size=chunk_size))


@torch.no_grad()
def tolerance(z: object, labels: object) -> float:
    """Tolerance to semantically similar samples (Wang & Liu, CVPR 2021).

    ``T = E_{x,y: l(x) = l(y)} [f(x)^T f(y)]``: the mean cosine similarity over all ordered pairs
    ``(i, j)``, ``i != j``, that share a label, pooled over classes. Computed per class from
    ``||sum_i f(x_i)||^2 - n_c`` (the sum over the class's off-diagonal pairs). Higher means
    same-class samples sit closer together.

    Args:
        z: ``(n, d)`` embeddings (rows are normalised here).
        labels: integer class ids of length ``n``; at least one class needs two members.
    """
    x = embeddings(z, "z")
    y = int_labels(labels, x.shape[0], "labels")
    x = unit_rows(x)
    _, inv = torch.unique(y.to(x.device), return_inverse=True)
    n_cls = int(inv.max()) + 1
    sums = torch.zeros(n_cls, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, inv, x)
    counts = torch.bincount(inv, minlength=n_cls).to(x.dtype)
    self_sq = torch.zeros(n_cls, dtype=x.dtype, device=x.device).index_add_(0, inv, (x * x).sum(1))
    pair_sum = (sums * sums).sum(1) - self_sq
    n_pairs = counts * (counts - 1)
    if float(n_pairs.sum()) == 0:
        raise ValueError("labels: tolerance needs at least one class with two or more samples")
    return float(pair_sum.sum() / n_pairs.sum())


def relative_penalty(anchor: Tensor, positive: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """Relative penalty on each negative (Wang & Liu, CVPR 2021, "Understanding the behaviour ...").

    For InfoNCE ``L = -log exp(s_ii/tau) / (exp(s_ii/tau) + sum_{k != i} exp(s_ik/tau))`` the
    ratio of gradient magnitudes ``r_i(s_ij) = |dL/ds_ij| / |dL/ds_ii|`` is a Boltzmann
    distribution over the negatives::

        r_i(s_ij) = exp(s_ij / tau) / sum_{k != i} exp(s_ik / tau)

    with ``s`` the cosine similarity. Small ``tau`` concentrates the penalty on the hardest
    negative; large ``tau`` spreads it uniformly. The positive does not enter the value; it is
    taken (and checked) so that the call mirrors the loss. Differentiable.

    Args:
        anchor: ``(d,)`` or ``(B, d)``.
        positive: same shape as ``anchor``.
        negatives: ``(K, d)`` shared by all anchors, or ``(B, K, d)`` per anchor.
        temperature: ``tau > 0``.

    Returns:
        ``(K,)`` for a single anchor or ``(B, K)``; each row sums to 1.
    """
    a = as_tensor(anchor, "anchor")
    p = as_tensor(positive, "positive")
    single = isinstance(a, Tensor) and a.dim() == 1
    if single and isinstance(p, Tensor) and p.dim() == 1:
        a, p = a[None], p[None]
    a = embeddings(a, "anchor")
    p = embeddings(p, "positive")
    check_same_shape(a, p, "anchor", "positive")
    tau = check_positive_float(temperature, "temperature")
    neg = as_tensor(negatives, "negatives")
    if isinstance(neg, Tensor) and neg.dim() == 3:
        neg = embeddings(neg, "negatives", rank=3)
        if neg.shape[0] != a.shape[0]:
            raise ValueError(f"negatives: expected {a.shape[0]} rows of negatives (one per anchor), "
                             f"got shape {tuple(neg.shape)}")
        check_same_dim(a, neg, "anchor", "negatives")
        dtype = compute_dtype(a, neg)
        s = torch.einsum("bd,bkd->bk", unit_rows(a.to(dtype)), unit_rows(neg.to(dtype)))
    else:
        neg = embeddings(neg, "negatives")
        check_same_dim(a, neg, "anchor", "negatives")
        dtype = compute_dtype(a, neg)
        s = unit_rows(a.to(dtype)) @ unit_rows(neg.to(dtype)).T
    r = torch.softmax(s / tau, dim=-1)
    return r[0] if single else r


@torch.no_grad()
def effective_rank(z: object) -> float:
    """Effective rank (Roy & Vetterli, EUSIPCO 2007) of the centred embedding matrix.

    With singular values ``sigma_k`` of ``Z - mean(Z)`` and ``p_k = sigma_k / sum_l sigma_l``,
    ``erank = exp(-sum_k p_k log p_k)`` (``0 log 0 = 0``). It lies in ``[1, min(n, d)]``: 1 for a
    rank-one (collapsed to a line) embedding and ``d`` for isotropic embeddings; used to detect
    dimensional collapse (Jing et al., ICLR 2022; Garrido et al., ICML 2023).

    Args:
        z: ``(n, d)`` embeddings, ``n >= 2``, not all rows equal. Not normalised.
    """
    x = embeddings(z, "z")
    if x.shape[0] < 2:
        raise ValueError(f"z: effective rank needs at least 2 rows, got shape {tuple(x.shape)}")
    x = x.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(x)
    total = s.sum()
    if float(total) <= 0:
        raise ValueError("z: all rows are identical, so the centred matrix is zero and has no rank")
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def zero_shot_accuracy(image_emb: object, class_text_emb: object, labels: object) -> float:
    """Zero-shot classification accuracy (Radford et al., ICML 2021, CLIP).

    Each image is assigned the class whose prompt embedding has the largest cosine similarity,
    ``yhat_i = argmax_c <f(x_i), g(t_c)> / (|f(x_i)| |g(t_c)|)``; ties go to the smallest class.

    Args:
        image_emb: ``(n, d)`` image embeddings.
        class_text_emb: ``(C, d)`` one (e.g. prompt-ensembled) text embedding per class.
        labels: integer class ids in ``[0, C)``, one per image.
    """
    img = embeddings(image_emb, "image_emb")
    txt = embeddings(class_text_emb, "class_text_emb")
    check_same_dim(img, txt, "image_emb", "class_text_emb")
    y = check_labels(as_tensor(labels, "labels"), img.shape[0], "labels").long()
    n_cls = txt.shape[0]
    if y.min() < 0 or y.max() >= n_cls:
        raise ValueError(f"labels: class ids must lie in [0, {n_cls}) (rows of class_text_emb), "
                         f"got range [{int(y.min())}, {int(y.max())}]")
    pred = zero_shot_predict(img, txt)
    return float((pred == y.cpu()).double().mean())


def zero_shot_predict(image_emb: object, class_text_emb: object) -> Tensor:
    """Zero-shot class ids ``(n,)`` int64 (CPU): ``argmax_c`` cosine of image ``i`` and prompt ``c``,
    as in :func:`zero_shot_accuracy` (ties go to the smallest class)."""
    img = embeddings(image_emb, "image_emb")
    txt = embeddings(class_text_emb, "class_text_emb")
    check_same_dim(img, txt, "image_emb", "class_text_emb")
    dtype = compute_dtype(img, txt)
    return (unit_rows(img.to(dtype)) @ unit_rows(txt.to(device=img.device, dtype=dtype)).T).argmax(1).cpu().long()
