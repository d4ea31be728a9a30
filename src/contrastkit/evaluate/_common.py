"""Input conversion shared by the metrics: numpy arrays or tensors in, checked tensors out."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from contrastkit._validation import check_embeddings, check_labels, check_same_dim, compute_dtype
from contrastkit.functional.similarity import normalize


def as_tensor(x: object, name: str) -> object:
    """Turn a numpy array into a tensor; anything else is passed through for the checks to judge."""
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise TypeError(f"{name}: expected a numeric array, got dtype object")
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


def embeddings(x: object, name: str, *, rank: int = 2) -> Tensor:
    """A finite floating (n, d) tensor (numpy arrays accepted); half precision is upcast."""
    t = check_embeddings(as_tensor(x, name), name, rank=rank)
    dtype = compute_dtype(t)
    return t.to(dtype) if t.dtype != dtype else t


def labels(y: object, n: int, name: str) -> Tensor:
    """Integer labels of length ``n`` (numpy integer arrays accepted) as int64."""
    return check_labels(as_tensor(y, name), n, name).long()


def same_device_dtype(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Bring ``b`` onto ``a``'s device and both onto the promoted floating dtype."""
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(device=a.device, dtype=dtype)


def unit_rows(x: Tensor) -> Tensor:
    """L2-normalise rows scale-safely (:func:`contrastkit.functional.similarity.normalize`); an
    all-zero row stays zero (cosine 0 to everything)."""
    return normalize(x, dim=-1)


def check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a positive integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value}")
    return int(value)


def probe_inputs(
    train_emb: object, train_labels: object, test_emb: object, test_labels: object, seed: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a classifier probe's inputs; return float64 features and integer labels as numpy."""
    train = embeddings(train_emb, "train_emb")
    test = embeddings(test_emb, "test_emb")
    check_same_dim(train, test, "train_emb", "test_emb")
    ytr = labels(train_labels, train.shape[0], "train_labels").cpu().numpy()
    yte = labels(test_labels, test.shape[0], "test_labels").cpu().numpy()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an integer, got {type(seed).__name__}")
    return train.detach().cpu().double().numpy(), ytr, test.detach().cpu().double().numpy(), yte
