"""Input checks shared by every layer: each error names the argument and what was expected."""

from __future__ import annotations

import math

import torch
from torch import Tensor

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
REDUCTIONS = ("mean", "sum", "none")


def check_embeddings(
    x: object, name: str, *, rank: int = 2, allow_empty: bool = False, finite: bool = True
) -> Tensor:
    """Check that ``x`` is a floating tensor of the given rank with a non-empty batch, and (unless
    ``finite=False``, for callers that check their output instead) that it holds no NaN or inf."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != rank:
        raise ValueError(f"{name}: expected a rank-{rank} tensor, got shape {tuple(x.shape)}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a floating dtype {FLOAT_DTYPES}, got {x.dtype}")
    if x.shape[-2 if rank >= 2 else 0] == 0 and not allow_empty:
        raise ValueError(f"{name}: empty batch (shape {tuple(x.shape)})")
    if x.shape[-1] == 0:
        raise ValueError(f"{name}: embedding dimension is 0 (shape {tuple(x.shape)})")
    if finite and x.is_meta:  # no values to check (or to compute with): say so instead of a torch error
        raise ValueError(f"{name}: expected a tensor with values, got one on the 'meta' device")
    if finite and not torch.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return x


def check_same_device(tensors: dict[str, object], *, cpu_ok: tuple[str, ...] = ()) -> torch.device | None:
    """Raise if the tensors among ``tensors`` (name -> value; non-tensors and ``None`` are skipped)
    are not all on one device, naming the first argument that differs from the first tensor's
    device. Called first at every loss entry point, before any check that reads values, so that a
    mismatch is reported as such and not as a torch-internal error. Arguments named in ``cpu_ok``
    may also live on the CPU (the callee moves them: integer labels, a scalar temperature).
    Returns the common device (``None`` when no tensor was given)."""
    ref_name, ref = None, None
    for name, value in tensors.items():
        if not isinstance(value, Tensor):
            continue
        if ref is None:
            ref_name, ref = name, value.device
        elif value.device != ref and not (name in cpu_ok and value.device.type == "cpu"):
            raise ValueError(f"{name}: expected a tensor on {ref} (the device of {ref_name}), got one on "
                             f"{value.device}; move the inputs to one device")
    return ref


def check_finite_result(result: Tensor, inputs: dict[str, Tensor | None], *, hint: str | None = None) -> Tensor:
    """Raise if ``result`` is not finite, naming the input that holds NaN/inf, or else saying that
    the computation overflowed (``hint``: what to do, in place of the default advice). Checking the
    (small) result instead of every (large) input keeps the common case to one reduction over the
    output."""
    if bool(torch.isfinite(result).all()):
        return result
    for name, value in inputs.items():
        if value is not None and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name}: contains NaN or inf values")
    if hint is not None:
        raise ValueError(f"loss: non-finite value from finite inputs (overflow); {hint}")
    raise ValueError(
        "loss: non-finite value from finite inputs (overflow); use float32 inputs, the cosine "
        "similarity or a larger temperature"
    )


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b}: expected the same shape as {name_a} {tuple(a.shape)}, got {tuple(b.shape)}"
        )


def check_same_dim(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_b}: expected embedding dimension {a.shape[-1]} (as {name_a}), "
            f"got {b.shape[-1]}"
        )


def check_labels(labels: object, n: int, name: str = "labels") -> Tensor:
    """Check integer labels of length ``n`` (one per row)."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of integer ids, got {type(labels).__name__}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise TypeError(f"{name}: expected an integer dtype, got {labels.dtype}")
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},) (one id per row), got {tuple(labels.shape)}")
    return labels


def check_positive_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value}")
    return float(value)


def check_non_negative_float(value: object, name: str) -> float:
    """A finite number ``>= 0`` (a loss-term weight that may switch the term off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def check_positive_int(value: object, name: str) -> int:
    """An integer ``>= 1`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return value


def check_tile_size(tile_size: object, name: str = "tile_size", *, auto: bool = False) -> int | str | None:
    """``None`` (dense execution), an integer ``>= 1``, or (where ``auto``) the string ``"auto"``
    (the library picks dense or tiled from the problem size)."""
    if tile_size is None:
        return None
    if auto and tile_size == "auto":
        return "auto"
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 1:
        expected = "None, 'auto' or an integer >= 1" if auto else "None or an integer >= 1"
        raise ValueError(f"{name}: expected {expected}, got {tile_size!r}")
    return tile_size


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: unknown option {value!r}; expected one of {choices}")
    return value  # type: ignore[return-value]


def compute_dtype(*tensors: Tensor) -> torch.dtype:
    """Reductions run in float32 for half inputs and in the input precision otherwise."""
    dtype = torch.promote_types(tensors[0].dtype, tensors[-1].dtype)
    for t in tensors[1:-1]:
        dtype = torch.promote_types(dtype, t.dtype)
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def check_index(index: object, n: int, size: int, name: str) -> Tensor:
    """Check an integer ``(n,)`` index with every entry in ``0..size-1``."""
    index = check_labels(index, n, name)
    if n and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError(f"{name}: expected indices in 0..{size - 1}, got values in "
                         f"{int(index.min())}..{int(index.max())}")
    return index
