"""GradCache: contrastive losses over batches larger than the encoder's activations allow.

Gao, Zhang, Han & Callan 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited
Setup" (RepL4NLP). For a loss ``L(E_1, ..., E_k)`` of embeddings ``E_m = f_m(X_m)``::

    dL/dtheta = sum_m sum_c (dL/dE_m[c])^T  dE_m[c]/dtheta

1. embed every chunk ``c`` without a graph (``no_grad``), remembering the random state;
2. compute ``L`` on the cached embeddings and its gradient ``G_m = dL/dE_m`` (memory ``O(B·d)``);
3. re-embed each chunk with a graph under the *same* random state (dropout masks, random
   augmentations inside the encoder match) and back-propagate the surrogate ``<f_m(X_m[c]), G_m[c]>``.

Activation memory is that of one chunk, whatever the batch size; the gradient is the one of the
whole batch (same dropout masks as a chunk-by-chunk forward with a graph). Combine with
``InfoNCE(tile_size=...)`` so that the loss itself is ``O(B·tile)`` as well. Under DDP the
re-forward runs inside ``no_sync()`` except for the very last chunk, so gradients are all-reduced
once per step (sentence-transformers #4027 all-reduced per chunk).

Example (manual optimisation, e.g. inside a Lightning ``training_step``)::

    loss_fn = InfoNCE(0.05, mode="symmetric", tile_size=512)
    cache = GradCache([image_encoder, text_encoder], loss_fn, chunk_size=64)
    optimizer.zero_grad()
    loss = cache(images, tokens)       # gradients are now in the encoders' .grad
    optimizer.step()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

Batch = Any  # a tensor, or a (nested) tuple / list / dict of tensors batched along dim 0


def _batch_size(inputs: Batch) -> int:
    if isinstance(inputs, Tensor):
        return int(inputs.shape[0])
    if isinstance(inputs, Mapping):
        return _batch_size(next(iter(inputs.values())))
    if isinstance(inputs, (tuple, list)):
        return _batch_size(inputs[0])
    raise TypeError(f"inputs: expected tensors (or tuples / dicts of them), got {type(inputs).__name__}")


def _slice(inputs: Batch, rows: slice) -> Batch:
    if isinstance(inputs, Tensor):
        return inputs[rows]
    if isinstance(inputs, Mapping):
        return {k: _slice(v, rows) for k, v in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_slice(v, rows) for v in inputs)
    return inputs


def _devices(inputs: Batch) -> list[int]:
    if isinstance(inputs, Tensor):
        return [inputs.device.index or 0] if inputs.is_cuda else []
    if isinstance(inputs, Mapping):
        return sorted({d for v in inputs.values() for d in _devices(v)})
    if isinstance(inputs, (tuple, list)):
        return sorted({d for v in inputs for d in _devices(v)})
    return []


def _call(encoder: Callable[..., Tensor], chunk: Batch) -> Tensor:
    out = encoder(**chunk) if isinstance(chunk, Mapping) else encoder(chunk)
    if not isinstance(out, Tensor):
        raise TypeError("encoders: each encoder must return a tensor of embeddings; wrap models that "
                        f"return {type(out).__name__} (e.g. lambda x: model(x).pooler_output)")
    return out


def _stateful_modules(encoders: Sequence[Any], extra: Sequence[nn.Module]) -> list[nn.Module]:
    """Distinct modules whose buffers the forward passes may update (encoders, bound methods' owners)."""
    found: list[nn.Module] = []
    for obj in [*encoders, *extra]:
        module = obj if isinstance(obj, nn.Module) else getattr(obj, "__self__", None)
        if isinstance(module, nn.Module) and all(module is not m for m in found):
            found.append(module)
    return found


class _BufferSnapshot:
    """Copies of every buffer (BatchNorm ``running_mean/var``, ``num_batches_tracked``, queues, ...).

    The no-grad pass and the re-forward each run every chunk once in train mode; without a restore
    in between, buffers updated in ``forward`` would be updated twice per step. Restoring them before
    the re-forward makes it see the very states the first pass saw, so its outputs match the cache and
    the step ends with the state of one ordinary chunked forward.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        self.saved: list[tuple[nn.Module, str, Tensor]] = []
        seen: set[int] = set()
        for module in modules:
            for owner in module.modules():
                if id(owner) in seen:
                    continue
                seen.add(id(owner))
                for name, buf in owner._buffers.items():
                    if isinstance(buf, Tensor):
                        self.saved.append((owner, name, buf.detach().clone()))

    @torch.no_grad()
    def restore(self) -> None:
        for owner, name, saved in self.saved:
            current = owner._buffers.get(name)
            if isinstance(current, Tensor) and current.shape == saved.shape and current.dtype == saved.dtype:
                current.copy_(saved)
            else:  # the forward replaced the buffer (e.g. a queue rebuilt with torch.cat)
                owner._buffers[name] = saved.clone()


class _RandomState:
    """CPU (and CUDA, for the given devices) random state, captured now and replayable later."""

    def __init__(self, devices: list[int]) -> None:
        self.devices = devices
        self.cpu = torch.get_rng_state()
        self.cuda = [torch.cuda.get_rng_state(d) for d in devices]

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        with torch.random.fork_rng(devices=self.devices):
            torch.set_rng_state(self.cpu)
            for d, state in zip(self.devices, self.cuda, strict=True):
                torch.cuda.set_rng_state(state, d)
            yield


def grad_cache_step(
    encoders: nn.Module | Callable[..., Tensor] | Sequence[Callable[..., Tensor]],
    inputs: Sequence[Batch],
    loss_fn: Callable[..., Tensor],
    chunk_size: int,
    *,
    no_sync: bool = True,
    stateful_modules: Sequence[nn.Module] = (),
) -> Tensor:
    """One GradCache forward/backward: accumulates ``dL/dtheta`` into the encoders' ``.grad``.

    Module state is that of one ordinary chunked forward: buffers updated in train mode (BatchNorm
    running statistics and ``num_batches_tracked``, ...) are restored after the no-grad pass, so the
    re-forward updates them exactly once per chunk.

    Args:
        encoders: one encoder per input, or a single encoder shared by every input (two views).
            An encoder maps a chunk (a tensor, a tuple, or a dict passed as keyword arguments) to
            ``(rows, d)`` embeddings.
        inputs: the batches, each batched along dim 0 (sizes may differ between inputs).
        loss_fn: ``loss_fn(*embeddings) -> scalar``, e.g. ``InfoNCE(...)``.
        chunk_size: rows per encoder call (``>= 1``).
        no_sync: skip DDP gradient synchronisation for all but the last re-forward.
        stateful_modules: modules whose buffers the encoders update when the encoders are plain
            callables (a lambda around a model); ``nn.Module`` encoders and bound methods of modules
            are found automatically.

    Returns:
        The detached loss value.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
    if not isinstance(inputs, Sequence) or isinstance(inputs, Tensor) or len(inputs) == 0:
        raise TypeError("inputs: expected a non-empty sequence of batches (one per encoder)")
    if isinstance(encoders, nn.Module) or not isinstance(encoders, Sequence):
        encoder_list: list[Callable[..., Tensor]] = [encoders] * len(inputs)  # type: ignore[list-item]
    else:
        encoder_list = list(encoders)
    if len(encoder_list) != len(inputs):
        raise ValueError(f"encoders: expected one encoder per input ({len(inputs)}), got {len(encoder_list)}")

    # 1. Embed without a graph, remembering the random state of every chunk (and the buffers).
    snapshot = _BufferSnapshot(_stateful_modules(encoder_list, stateful_modules))
    cached: list[Tensor] = []
    states: list[list[tuple[slice, _RandomState]]] = []
    for encoder, batch in zip(encoder_list, inputs, strict=True):
        n = _batch_size(batch)
        devices = _devices(batch)
        parts, chunk_states = [], []
        for start in range(0, n, chunk_size):
            rows = slice(start, min(start + chunk_size, n))
            chunk_states.append((rows, _RandomState(devices)))
            with torch.no_grad():
                parts.append(_call(encoder, _slice(batch, rows)))
        cached.append(torch.cat(parts).detach().requires_grad_())
        states.append(chunk_states)

    # 2. The loss on the cached embeddings and its gradient with respect to them.
    loss = loss_fn(*cached)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn: expected a scalar tensor")
    grads = torch.autograd.grad(loss, cached, allow_unused=True)

    # 3. Re-embed each chunk with a graph under the same random state and buffers; push the cached gradient.
    snapshot.restore()
    jobs = [(m, rows, state) for m, chunk_states in enumerate(states) for rows, state in chunk_states]
    for k, (m, rows, state) in enumerate(jobs):
        grad = grads[m]
        encoder = encoder_list[m]
        if grad is None:  # no gradient to push, but the chunk's buffer updates must still happen once
            with torch.no_grad(), state.replay():
                _call(encoder, _slice(inputs[m], rows))
            continue
        last = k == len(jobs) - 1
        sync = contextlib.nullcontext()
        if no_sync and not last and hasattr(encoder, "no_sync"):
            sync = encoder.no_sync()  # type: ignore[union-attr]
        with sync, state.replay():
            emb = _call(encoder, _slice(inputs[m], rows))
            emb.backward(grad[rows].to(emb.dtype))
    return loss.detach()


class GradCache:
    """Model-agnostic GradCache (Gao et al. 2021): ``GradCache(encoders, loss_fn, chunk_size)(*inputs)``
    runs :func:`grad_cache_step` and returns the detached loss; gradients land in ``.grad``."""

    def __init__(
        self,
        encoders: nn.Module | Callable[..., Tensor] | Sequence[Callable[..., Tensor]],
        loss_fn: Callable[..., Tensor],
        chunk_size: int,
        *,
        no_sync: bool = True,
        stateful_modules: Sequence[nn.Module] = (),
    ) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
        self.encoders = encoders
        self.loss_fn = loss_fn
        self.chunk_size = chunk_size
        self.no_sync = no_sync
        self.stateful_modules = tuple(stateful_modules)

    def __call__(self, *inputs: Batch) -> Tensor:
        return grad_cache_step(self.encoders, inputs, self.loss_fn, self.chunk_size,
                               no_sync=self.no_sync, stateful_modules=self.stateful_modules)


__all__ = ["GradCache", "grad_cache_step"]
