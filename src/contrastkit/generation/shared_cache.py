"""Contrastive search's shared-cache candidate scoring (``candidate_scoring="shared"``, decoder-only models).

The ``k`` candidates of a row are ``k`` query tokens against the row's one KV cache, under a 4D mask that
lets each see the context and itself only; the chosen candidate's keys and values are then moved into
place and the rest cropped: no ``k``-fold cache copy per step. Every layer's keys and values live in one
preallocated slab, which the layers' ``update`` writes into in place. ``shared_support.py`` decides
whether a model may use this mode; a mismatch found on the first step raises ``_SharedMismatchError``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.generation.decoding_state import _CausalState
from contrastkit.generation.shared_support import _parity_tested


class _SharedMismatchError(Exception):
    """The shared scoring's first step disagreed with a plain forward of its last candidate
    (``_SharedCausalState._plain_last_candidate``), or failed on the 4D mask."""


class _SharedCausalState(_CausalState):
    """Decoder-only candidates scored against one shared (unexpanded) KV cache.

    Step with cache length ``L``: the ``k`` candidates of row ``b`` are ``k`` query tokens at the
    same position; the additive 4D mask ``(B, 1, k, L + k)`` opens the row's valid cache entries
    and, in the last ``k`` columns, the diagonal only (each candidate sees itself, never another
    candidate). The mask is a view of one buffer allocated for the whole generation: after a step
    only columns ``L`` (now the chosen token, open to every query) to ``L + k`` (the next diagonal)
    are rewritten, in one copy. Every layer's keys and values live in one slab (``_slab_cache``; on
    transformers 5.x the prompt forward already writes into it, ``_PromptSlab``): after the choice,
    the entries at ``L + selected`` of all layers are copied to ``L`` with one gather and one strided
    copy (flat indices advanced in place) and the cache length becomes ``L + 1``.
    """

    def __init__(self, model: nn.Module, input_ids: Tensor, mask: Tensor, k: int, use_fast_head: bool,
                 max_new_tokens: int) -> None:
        self._expand = False
        super().__init__(model, input_ids, mask, k, use_fast_head, max_new_tokens)
        B, T = mask.shape
        device = mask.device
        dtype = next(model.parameters()).dtype
        neg = torch.finfo(dtype).min
        total = T + max_new_tokens + k
        eye_add = torch.full((k, k), neg, dtype=dtype, device=device).fill_diagonal_(0.0)
        # Columns L .. L + k after a step: the chosen token (0, open to every candidate), then the diagonal.
        self.step_cols = torch.cat([eye_add.new_zeros(k, 1), eye_add], dim=1)
        self.add_mask = torch.full((B, 1, k, total), neg, dtype=dtype, device=device)
        self.add_mask[:, 0, :, :T] = torch.zeros((), dtype=dtype, device=device).masked_fill(
            mask[:, None, :] == 0, neg)
        self.add_mask[:, 0, :, T:T + k] = eye_add
        self.positions = torch.arange(total, device=device)
        self.rows = torch.arange(B, device=device)
        self.prompt_len = T
        self.length = T
        # The first candidate forward is checked against a plain one, except for the stock
        # architectures whose shared scoring the parity suite compares with transformers' ids.
        self.verified = _parity_tested(model)
        # Position ids of every step's candidates, (steps, B, k): one view per step, no per-step add.
        steps = torch.arange(max_new_tokens + 1, device=device)
        self.step_pos = (mask.sum(-1)[None, :, None] + steps[:, None, None]).expand(-1, B, k).contiguous()
        prompt_slab, self._prompt_slab = self._prompt_slab, None
        self.slab = prompt_slab.finish(self.cache) if prompt_slab is not None else None
        if self.slab is None:  # the prompt's keys and values did not go to a slab: move them into one
            self.slab = _slab_cache(self.cache, T + max_new_tokens + k, self.slab_len)
        if self.slab is not None:
            _, n_kv, H, cap, d = self.slab.shape  # (B, 2 layers, H, capacity, head_dim)
            self.slab_rows = self.slab.view(-1, d)
            # (B, 2 layers H) flat index of each (row, layer tensor, head)'s entry at the cache length,
            # advanced in place each step.
            self.slab_dst = torch.arange(B * n_kv * H, device=device).view(B, -1) * cap + T
            self.slab_moved = self.slab_rows.new_empty(B * n_kv * H, d)
            self.slab_moved_5d = self.slab_moved.view(B, n_kv, H, d)

    def _prompt_cache(self, cache: Any, capacity: int) -> Any:
        self.slab_len = [self.ids.shape[1]]  # the slab layers' write position (see _slab_cache), shared by every layer
        n_layers = getattr(getattr(self.model, "config", None), "num_hidden_layers", None)
        self._prompt_slab = _PromptSlab.install(cache, capacity, self.slab_len, n_layers)
        return cache

    def candidates(self, top_ids: Tensor) -> tuple[Tensor, Tensor | None]:
        k = top_ids.shape[1]
        L = self.length
        kwargs: dict[str, Any] = dict(input_ids=top_ids, attention_mask=self.add_mask[..., : L + k],
                                      position_ids=self.step_pos[L - self.prompt_len], use_cache=True,
                                      return_dict=True, cache_position=self.positions[L: L + k])
        if self.verified:
            return self._forward(kwargs)
        self.verified = True
        try:
            reference = self._plain_last_candidate(top_ids)
            hidden, logits = self._forward(kwargs)
        except Exception as err:  # noqa: BLE001 - any failure here means "not supported" ("auto": expanded)
            raise _SharedMismatchError(f"its forward failed on a 4D attention mask: {type(err).__name__}: "
                                       f"{str(err).splitlines()[0] if str(err) else ''}") from err
        got = hidden[:, -1].float()
        # fp32: the 2D and 4D mask paths differ by rounding only; 16-bit activations round far more coarsely.
        tol = 1e-3 if hidden.dtype in (torch.float32, torch.float64) else 5e-2
        rel = float((got - reference).abs().amax()) / max(float(reference.abs().amax()), 1e-6)
        if not rel <= tol:  # also catches NaN
            raise _SharedMismatchError(f"its hidden state of a candidate under the 4D mask differs from a plain "
                                       f"forward by {rel:.2g} relative: the model does not apply the mask as given")
        return hidden, logits

    def _plain_last_candidate(self, top_ids: Tensor) -> Tensor:
        """Last hidden state ``(B, E)`` of each row's last candidate fed alone with a 2D mask, the way the
        expanded scoring (and ``generate``) feeds it; the cache is then put back to length ``L``.

        Run once, before the first shared forward: a model that ignores, inverts or reshapes a 4D mask,
        or numbers positions from the cache length, gives that candidate another hidden state under the
        shared mask (the last candidate is the one every such defect reaches), so the shared mode is refused
        instead of silently choosing other tokens. The probe writes its keys and values at ``L``, which the
        shared forward then overwrites.
        """
        L = self.length
        valid = self.context_valid.long()
        mask2d = torch.cat([valid, valid.new_ones(top_ids.shape[0], 1)], dim=1)
        kwargs: dict[str, Any] = dict(input_ids=top_ids[:, -1:], attention_mask=mask2d,
                                      position_ids=self.step_pos[0][:, -1:].clone(), use_cache=True,
                                      return_dict=True, cache_position=self.positions[L: L + 1])
        hidden, _ = self._forward(kwargs)
        if self.slab is not None:  # the slab layers append at ``slab_len`` (still L): only the views grew
            for layer in self.cache.layers:
                keys, values = layer._ck_slab
                layer.keys, layer.values = keys[:, :, :L], values[:, :, :L]
        else:
            self.cache.crop(L)
        return hidden[:, -1].float()

    def select(self, selected: Tensor, flat: Tensor, hidden: Tensor, cand_logits: Tensor | None,
               keep_cache: bool) -> Tensor:
        logits = self._chosen_logits(flat, hidden, cand_logits)
        if keep_cache:
            L = self.length
            k = hidden.shape[1]
            if self.slab is not None:  # every layer's keys and values in one tensor: one gather + copy
                # Flat row indices into the (B 2layers H capacity, d) view: cheaper than advanced
                # indexing with two index tensors on a 5-D strided tensor.
                src = torch.add(self.slab_dst, selected.view(-1, 1)).view(-1)
                torch.index_select(self.slab_rows, 0, src, out=self.slab_moved)
                self.slab.select(3, L).copy_(self.slab_moved_5d)  # a strided copy: cheaper than index_copy_
                self.slab_dst.add_(1)
                self.slab_len[0] = L + 1  # where the next forward's k entries go in every layer
                # Only layer 0 is cropped: ``cache.get_seq_length()`` reads it; every other layer's view
                # (still ending at L + k) is replaced by its next update, which writes at ``slab_len``.
                layer = self.cache.layers[0]
                keys, values = layer._ck_slab
                layer.keys, layer.values = keys[:, :, : L + 1], values[:, :, : L + 1]
            else:
                _move_chosen(_kv_tensors(self.cache), self.rows, selected, L)
                if k > 1:  # a negative argument removes that many entries in transformers 4.x and 5.x
                    self.cache.crop(-(k - 1))
            self.add_mask[..., L: L + 1 + k] = self.step_cols
            self.length = L + 1
        return logits


def _slab_cache(cache: Any, capacity: int, length: list[int]) -> Tensor | None:
    """Move a dynamic cache's keys and values into one preallocated ``(B, 2 layers, H, capacity, d)``
    tensor and make each layer append into it in place; ``None`` (cache left as is) when the layers'
    shapes differ or the cache has no per-layer ``keys`` / ``values``.

    A dynamic cache concatenates every layer's keys and values with the new entries at each step (a
    copy of the whole cache); here a step writes only the ``k`` new entries, the layers' tensors are
    views of the slab and the chosen candidate's entries of all layers move in one indexing operation.
    Every layer appends at ``length[0]`` (the caller's cache length, a list shared by the layers), so a
    step shortens the cache by setting one number instead of re-slicing every layer's views.
    """
    layers = getattr(cache, "layers", None)
    if not layers or not all(isinstance(getattr(la, "keys", None), Tensor) and isinstance(
            getattr(la, "values", None), Tensor) and type(la).__name__ == "DynamicLayer" for la in layers):
        return None
    shape, dtype = layers[0].keys.shape, layers[0].keys.dtype
    if len(shape) != 4 or any(la.keys.shape != shape or la.values.shape != shape or la.keys.dtype != dtype
                              for la in layers):
        return None
    B, H, T, d = shape
    slab = layers[0].keys.new_empty(B, 2 * len(layers), H, capacity, d)
    for i, layer in enumerate(layers):
        keys, values = slab[:, 2 * i], slab[:, 2 * i + 1]
        keys[:, :, :T] = layer.keys
        values[:, :, :T] = layer.values
        layer.keys, layer.values = keys[:, :, :T], values[:, :, :T]
        layer.update = _slab_update.__get__(layer)  # this instance only
        layer._ck_slab = (keys, values)
        layer._ck_len = length
    return slab


class _PromptSlab:
    """Lets the prompt forward write each layer's keys and values straight into the slab (see
    ``_slab_cache``) instead of into a fresh concatenation that would then be copied into it.

    Only for a cache whose ``DynamicLayer``s all exist before the forward (transformers 5.x). The slab is
    allocated at the first layer's update, from its key shape; a layer whose keys or values differ in
    shape or dtype takes the layer's own update, and ``finish`` then gives every layer its own copy
    back and returns ``None`` (the caller falls back to ``_slab_cache``).
    """

    def __init__(self, layers: list[Any], capacity: int, length: list[int]) -> None:
        self.layers, self.capacity, self.length = layers, capacity, length
        self.slab: Tensor | None = None
        self.failed = False
        self.filled = 0

    @classmethod
    def install(cls, cache: Any, capacity: int, length: list[int], n_layers: int | None) -> _PromptSlab | None:
        """Patch ``cache``'s layers when there is one empty ``DynamicLayer`` per model layer, else ``None``."""
        layers = getattr(cache, "layers", None)
        if not layers or len(layers) != n_layers or not all(
                type(la).__name__ == "DynamicLayer" and getattr(la, "keys", None) is None for la in layers):
            return None
        box = cls(list(layers), capacity, length)
        for i, layer in enumerate(layers):
            layer._ck_prompt = (box, i)
            layer.update = _prompt_slab_update.__get__(layer)  # this instance only
        return box

    def _fits(self, key_states: Tensor, value_states: Tensor) -> bool:
        if self.failed or key_states.dim() != 4 or value_states.shape != key_states.shape:
            return False
        B, H, T, d = key_states.shape
        if self.slab is None:
            self.slab = key_states.new_empty(B, 2 * len(self.layers), H, self.capacity, d)
        slab = self.slab
        same_kind = key_states.dtype == value_states.dtype == slab.dtype and key_states.device == slab.device
        return same_kind and (slab.shape[0], slab.shape[2], slab.shape[4]) == (B, H, d) and self.capacity >= T

    def finish(self, cache: Any) -> Tensor | None:
        """After the prompt forward: the slab, every layer appending into it; or ``None``, layers restored."""
        layers = list(getattr(cache, "layers", None) or ())
        ok = not self.failed and self.filled == len(self.layers) == len(layers) and all(
            a is b for a, b in zip(layers, self.layers, strict=True))
        for layer in self.layers:
            layer.__dict__.pop("update", None)
            layer.__dict__.pop("_ck_prompt", None)
            if ok:
                layer.update = _slab_update.__get__(layer)
                layer._ck_len = self.length
            elif "_ck_slab" in layer.__dict__:  # give the layer its own tensors again
                del layer._ck_slab
                layer.keys, layer.values = layer.keys.clone(), layer.values.clone()
        return self.slab if ok else None


def _prompt_slab_update(layer: Any, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any
                        ) -> tuple[Tensor, Tensor]:
    """The prompt forward's ``DynamicLayer.update`` (see ``_PromptSlab``)."""
    box, i = layer._ck_prompt
    base = type(layer).update
    if "_ck_slab" in layer.__dict__ or not box._fits(key_states, value_states):  # a second call, or no fit
        box.failed = True
        return base(layer, key_states, value_states, *args, **kwargs)
    # The layer's own bookkeeping (dtype, device, initialised flag) from an empty update: no copy.
    base(layer, key_states[:, :, :0], value_states[:, :, :0], *args, **kwargs)
    T = key_states.shape[2]
    keys, values = box.slab[:, 2 * i], box.slab[:, 2 * i + 1]  # type: ignore[index]
    keys[:, :, :T] = key_states
    values[:, :, :T] = value_states
    layer.keys, layer.values = keys[:, :, :T], values[:, :, :T]
    layer._ck_slab = (keys, values)
    box.filled += 1
    return layer.keys, layer.values


def _slab_update(layer: Any, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any
                 ) -> tuple[Tensor, Tensor]:
    """``DynamicLayer.update`` writing into the slab (see ``_slab_cache``) instead of concatenating."""
    keys, values = layer._ck_slab
    n = layer._ck_len[0]
    q = key_states.shape[-2]
    keys[:, :, n:n + q] = key_states
    values[:, :, n:n + q] = value_states
    layer.keys, layer.values = keys[:, :, : n + q], values[:, :, : n + q]
    return layer.keys, layer.values


def _move_chosen(tensors: list[Tensor], rows: Tensor, selected: Tensor, L: int) -> None:
    """Copy each row's entry ``L + selected[row]`` to ``L`` along dim 2 of every ``(B, H, L', d)`` tensor.

    A contiguous tensor is viewed as ``(B H L', d)`` rows and moved with one ``index_select`` +
    ``index_copy_`` whose flat indices are built once per shape (cheaper than advanced indexing
    with two index tensors, repeated for every layer).
    """
    flat: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
    for t in tensors:
        if not t.is_contiguous():
            t[:, :, L] = t[rows, :, L + selected]
            continue
        B, H, Lc, d = t.shape
        key = (H, Lc)
        if key not in flat:
            base = torch.arange(B * H, device=t.device).view(B, H) * Lc
            flat[key] = ((base + L).reshape(-1), (base + (L + selected)[:, None]).reshape(-1))
        dst, src = flat[key]
        view = t.view(-1, d)
        view.index_copy_(0, dst, view.index_select(0, src))


def _kv_tensors(cache: Any) -> list[Tensor]:
    """Every layer's key and value tensor ``(B, H, L, head_dim)`` of a dynamic cache."""
    layers = getattr(cache, "layers", None)
    if layers is not None and hasattr(cache, "crop"):
        return [t for layer in layers for t in (layer.keys, layer.values)]
    if hasattr(cache, "key_cache") and hasattr(cache, "crop"):  # transformers < 4.54
        return [*cache.key_cache, *cache.value_cache]
    raise TypeError(f"model: candidate_scoring='shared' needs a dynamic cache with crop(), got {type(cache).__name__}")
