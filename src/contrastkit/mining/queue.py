"""A FIFO memory queue of detached keys: MoCo's negatives (He et al. 2020, "Momentum Contrast for
Unsupervised Visual Representation Learning", CVPR).

The queue holds the last ``size`` keys; each step the current keys are enqueued and the oldest
dequeued. The loss of queries ``q`` against their keys ``k`` and the queue ``Q`` is::

    L_i = -log exp(q_i·k_i / tau) / (exp(q_i·k_i / tau) + sum_{n in Q} exp(q_i·n / tau))

i.e. ``InfoNCE(tau, mode="a_to_b")(q, k, negatives=queue.negatives())`` (the in-batch keys are
negatives too in that call, as in MoCo v3 / most implementations; the strict MoCo v1 form keeps
only the queue, which is the same objective up to ``B - 1`` extra negatives).

Example (MoCo step)::

    queue = MemoryQueue(65536, 128)
    key_encoder = MomentumEncoder(query_encoder)
    loss_fn = InfoNCE(0.2, mode="a_to_b")
    q = query_encoder(x_q)
    k = key_encoder(x_k)                       # no gradient
    loss = loss_fn(q, k, negatives=queue.negatives())
    loss.backward(); optimizer.step()
    key_encoder.update(0.999)
    queue.enqueue(k)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit._validation import FLOAT_DTYPES, check_embeddings, check_labels, check_same_device
from contrastkit.functional.distributed import all_gather_no_grad


class MemoryQueue(nn.Module):
    """FIFO ring buffer of ``size`` detached ``dim``-dimensional keys (plus optional labels / ids).

    Buffers (``keys``, ``labels``, ``ids``, ``ptr``, ``filled``) live in the ``state_dict`` and move
    with ``.to()``. With ``gather_distributed=True`` every rank enqueues all ranks' keys in rank
    order, so all ranks hold the same queue.

    Args:
        size: capacity ``>= 1``.
        dim: key dimension ``>= 1``.
        dtype: key dtype, a floating dtype (default float32).
        gather_distributed: enqueue the keys of every rank (``torch.distributed``).
    """

    keys: Tensor
    labels: Tensor
    ids: Tensor
    ptr: Tensor
    filled: Tensor

    def __init__(self, size: int, dim: int, *, dtype: torch.dtype = torch.float32,
                 gather_distributed: bool = False) -> None:
        super().__init__()
        for name, value in (("size", size), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if dtype not in FLOAT_DTYPES:  # an integer buffer would truncate every key
            raise TypeError(f"dtype: expected a floating dtype {FLOAT_DTYPES}, got {dtype!r}")
        self.size, self.dim = size, dim
        self.gather_distributed = gather_distributed
        self.register_buffer("keys", torch.zeros(size, dim, dtype=dtype))
        self.register_buffer("labels", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("ids", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.filled)

    @torch.no_grad()
    def enqueue(self, keys: Tensor, labels: Tensor | None = None, ids: Tensor | None = None) -> None:
        """Append ``keys (n, dim)`` (detached), overwriting the oldest entries once full; if
        ``n > size`` only the last ``size`` keys are kept. ``labels`` / ``ids``: integer ``(n,)``
        (float labels would be truncated). The keys must be on the queue's device (move the queue
        with ``.to()``); labels and ids may also be on the CPU."""
        check_same_device({"queue": self.keys, "keys": keys, "labels": labels, "ids": ids},
                          cpu_ok=("labels", "ids"))
        check_embeddings(keys, "keys")
        if keys.shape[1] != self.dim:
            raise ValueError(f"keys: expected dimension {self.dim}, got {keys.shape[1]}")
        extras = {}
        for name, value in (("labels", labels), ("ids", ids)):
            if value is not None:
                extras[name] = check_labels(value, keys.shape[0], name)
        keys = keys.detach()
        if self.gather_distributed:
            keys = all_gather_no_grad(keys)
            extras = {k: all_gather_no_grad(v) for k, v in extras.items()}
        if keys.shape[0] > self.size:
            keys = keys[-self.size:]
            extras = {k: v[-self.size:] for k, v in extras.items()}
        n = keys.shape[0]
        index = (int(self.ptr) + torch.arange(n, device=self.keys.device)) % self.size
        self.keys[index] = keys.to(self.keys.dtype)
        for name in ("labels", "ids"):
            buf = getattr(self, name)
            buf[index] = extras[name].to(buf) if name in extras else -1
        self.ptr.fill_((int(self.ptr) + n) % self.size)
        self.filled.fill_(min(self.size, int(self.filled) + n))

    def _order(self) -> Tensor:
        n = int(self.filled)
        start = (int(self.ptr) - n) % self.size
        return (start + torch.arange(n, device=self.keys.device)) % self.size

    def negatives(self) -> Tensor:
        """The stored keys, oldest first, as a new tensor without gradient: ``(len(self), dim)``."""
        return self.keys[self._order()]

    def stored_labels(self) -> Tensor:
        """Labels of :meth:`negatives` in the same order (``-1`` where none was given)."""
        return self.labels[self._order()]

    def stored_ids(self) -> Tensor:
        """Ids of :meth:`negatives` in the same order (``-1`` where none was given)."""
        return self.ids[self._order()]

    def reset(self) -> None:
        """Empty the queue."""
        self.ptr.zero_()
        self.filled.zero_()

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}, filled={int(self.filled)}"


__all__ = ["MemoryQueue"]
