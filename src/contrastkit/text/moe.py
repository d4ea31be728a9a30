"""Domain mixture of experts for BERT-family sentence encoders, and top-layer training on cached states.

**Enforced-routing MoE** (Hallee et al., 2024, "Contrastive Learning and Mixture of Experts Enables Precise
Vector Embeddings"; official code Gleghorn-Lab/Mixture-of-Experts-Sentence-Similarity, ``models/moe_blocks.py``
``SentenceEnforcedSwitchMoeBlock``): the feed-forward block (``BertIntermediate`` + ``BertOutput``) of chosen
layers is replaced by ``N`` experts, each a deep copy of the pretrained block, and every example is routed
entirely to the expert of its domain (no router, no balancing loss). Before training the converted model is
therefore output-identical to the original for every assignment.

::

    experts = convert_to_domain_experts(encoder, n_experts=3, layers=(-1,))
    with route(encoder, domains):                   # (B,) int64 domain of each example
        emb = encoder(input_ids, attention_mask)

**Top-layer training** (:class:`TopLayers`): the lower layers of a frozen encoder run once
(:func:`lower_states`, cached), and only the top ``n_top`` transformer layers (optionally converted to
experts) are trained on those states. The pooled output equals the full encoder's (tested), so this is the
full model with its lower layers frozen, at a fraction of the CPU cost.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit._validation import check_positive_int
from contrastkit.text.encoder import TextEncoder, check_texts

STATES_CACHE = Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit")) / "text_states"


class _PassThroughOutput(nn.Module):
    """Stands in for ``BertOutput`` once :class:`DomainExperts` computes the whole feed-forward block."""

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return hidden_states


class DomainExperts(nn.Module):
    """``N`` copies of one layer's feed-forward block with enforced routing by domain.

    Expert ``e`` computes ``LayerNorm(x + Dropout(W2_e act(W1_e x)))`` (the BERT block it was copied
    from); row ``b`` of the batch uses expert ``assignment[b]``. Set the routing with :func:`route`.

    Args:
        intermediate, output: the layer's ``BertIntermediate`` and ``BertOutput`` (deep-copied ``n_experts``
            times; the originals are not modified).
        n_experts: number of experts ``N >= 1``.
    """

    def __init__(self, intermediate: nn.Module, output: nn.Module, n_experts: int) -> None:
        super().__init__()
        n_experts = check_positive_int(n_experts, "n_experts")
        self.experts = nn.ModuleList(
            nn.ModuleDict({"intermediate": copy.deepcopy(intermediate), "output": copy.deepcopy(output)})
            for _ in range(n_experts))
        self.assignment: Tensor | None = None

    @property
    def n_experts(self) -> int:
        return len(self.experts)

    def forward(self, attention_output: Tensor) -> Tensor:
        """``(B, L, d) -> (B, L, d)``; raises ``ValueError`` when no routing was set or it does not fit."""
        a = self.assignment
        if a is None:
            raise ValueError("assignment: no domain routing set; call the encoder inside `with route(encoder, "
                             "domains):`")
        if a.shape != (attention_output.shape[0],):
            raise ValueError(f"domains: expected shape ({attention_output.shape[0]},) (one domain per example), "
                             f"got {tuple(a.shape)}")
        out = torch.empty_like(attention_output)
        for e in torch.unique(a).tolist():
            rows = (a == e).nonzero(as_tuple=True)[0]
            x = attention_output[rows]
            expert = self.experts[e]
            out[rows] = expert["output"](expert["intermediate"](x), x)
        return out


def _layers(model: nn.Module) -> nn.ModuleList:
    if isinstance(model, TextEncoder):
        model = model.model
    enc = getattr(model, "encoder", None)
    layers = getattr(enc, "layer", None) if enc is not None else getattr(model, "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise TypeError(f"model: expected a BERT-family encoder (encoder.layer list), got {type(model).__name__}")
    return layers


def convert_to_domain_experts(model: nn.Module, n_experts: int, layers: Sequence[int] = (-1,)) -> list[DomainExperts]:
    """Replace the feed-forward block of ``layers`` (indices into the transformer layers) of ``model`` by
    :class:`DomainExperts` (in place) and return them.

    ``model``: a :class:`~contrastkit.text.TextEncoder`, a transformers BERT-family model, or a module with
    a ``layer`` list (:class:`TopLayers`). Raises ``TypeError`` for another model, ``ValueError`` for a bad
    ``n_experts``, a layer index out of range, or a layer already converted.
    """
    n_experts = check_positive_int(n_experts, "n_experts")
    stack = _layers(model)
    if not isinstance(layers, Sequence) or not layers or not all(isinstance(i, int) for i in layers):
        raise ValueError(f"layers: expected a non-empty sequence of layer indices, got {layers!r}")
    converted = []
    for i in layers:
        if not -len(stack) <= i < len(stack):
            raise ValueError(f"layers: index {i} out of range for {len(stack)} layers")
        layer = stack[i]
        if isinstance(layer.intermediate, DomainExperts):
            raise ValueError(f"layers: layer {i} is already converted to experts")
        moe = DomainExperts(layer.intermediate, layer.output, n_experts)
        layer.intermediate, layer.output = moe, _PassThroughOutput()
        converted.append(moe)
    return converted


def domain_experts(model: nn.Module) -> list[DomainExperts]:
    """Every :class:`DomainExperts` block of ``model``, in layer order."""
    return [m for m in model.modules() if isinstance(m, DomainExperts)]


@contextmanager
def route(model: nn.Module, domains: Tensor) -> Iterator[None]:
    """Route every example of the next forward passes of ``model`` to the expert of its domain.

    ``domains``: ``(B,)`` integer domain indices in ``[0, N)``. Raises ``ValueError`` when ``model`` has no
    expert blocks or a domain is out of range.
    """
    blocks = domain_experts(model)
    if not blocks:
        raise ValueError("model: has no DomainExperts blocks (convert_to_domain_experts first)")
    if not isinstance(domains, Tensor) or domains.dim() != 1 or domains.dtype.is_floating_point:
        raise ValueError(f"domains: expected a (B,) integer tensor, got {getattr(domains, 'shape', domains)!r}")
    n = blocks[0].n_experts
    if domains.numel() and (int(domains.min()) < 0 or int(domains.max()) >= n):
        raise ValueError(f"domains: expected indices in [0, {n}), got min {int(domains.min())}, "
                         f"max {int(domains.max())}")
    for b in blocks:
        b.assignment = domains
    try:
        yield
    finally:
        for b in blocks:
            b.assignment = None


def extended_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """``(B, L)`` 0/1 mask -> ``(B, 1, 1, L)`` additive mask (0 kept, dtype-min masked) of BERT's layers."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class TopLayers(nn.Module):
    """The top ``n_top`` transformer layers of a BERT-family encoder (deep copies) with mean pooling.

    ``forward(states, attention_mask, domains=None) -> (B, d)``: ``states`` ``(B, L, d)`` are the input
    states of the first copied layer (:func:`lower_states`), ``attention_mask`` ``(B, L)`` 0/1; pooled
    output not normalised (the :class:`~contrastkit.text.TextEncoder` convention). ``domains`` ``(B,)`` is
    required once the layers are converted to experts (:func:`convert_to_domain_experts` on this module).
    """

    def __init__(self, encoder: TextEncoder, n_top: int = 1) -> None:
        super().__init__()
        stack = _layers(encoder)
        n_top = check_positive_int(n_top, "n_top")
        if n_top > len(stack):
            raise ValueError(f"n_top: expected at most {len(stack)} (the encoder's layers), got {n_top}")
        self.layer = nn.ModuleList(copy.deepcopy(stack[i]) for i in range(len(stack) - n_top, len(stack)))
        self.n_top = n_top

    def forward(self, states: Tensor, attention_mask: Tensor, domains: Tensor | None = None) -> Tensor:
        if states.dim() != 3 or attention_mask.shape != states.shape[:2]:
            raise ValueError(f"attention_mask: expected shape {tuple(states.shape[:2])} (states' first two dims), "
                             f"got {tuple(attention_mask.shape)}")
        if domain_experts(self) and domains is None:
            raise ValueError("domains: required once the layers are converted to domain experts")
        ext = extended_mask(attention_mask, states.dtype)
        h = states
        if domains is not None:
            with route(self, domains):
                for layer in self.layer:
                    h = _first(layer(h, attention_mask=ext))
        else:
            for layer in self.layer:
                h = _first(layer(h, attention_mask=ext))
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp_min(1.0)


def _first(out: Tensor | tuple[Tensor, ...]) -> Tensor:
    return out[0] if isinstance(out, tuple) else out


def lower_states(encoder: TextEncoder, texts: Sequence[str], n_top: int = 1, *, batch_size: int = 64,
                 cache_dir: str | os.PathLike[str] | None = STATES_CACHE) -> tuple[Tensor, Tensor]:
    """``(states (n, L, d) float32, attention_mask (n, L) int64)``: the input states of the top ``n_top``
    layers of ``encoder`` for ``texts`` (eval mode, no grad), padded to ``encoder.max_length``.

    Cached as safetensors in ``cache_dir`` keyed by the model, ``max_length``, ``n_top`` and the texts
    (``None``: no cache). Raises ``ValueError`` for empty input or a bad ``n_top``.
    """
    texts = check_texts(texts)
    n_layers = len(_layers(encoder))
    n_top = check_positive_int(n_top, "n_top")
    if n_top > n_layers:
        raise ValueError(f"n_top: expected at most {n_layers} (the encoder's layers), got {n_top}")
    h = hashlib.sha256(f"{encoder.source}|{encoder.max_length}|{n_top}".encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    file = None if cache_dir is None else Path(cache_dir) / f"{h.hexdigest()[:32]}.safetensors"
    if file is not None and file.is_file():
        from safetensors.torch import load_file

        got = load_file(str(file))
        return got["states"], got["attention_mask"]
    model = encoder.model
    was_training = model.training
    model.eval()
    states, masks = [], []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            tok = encoder.tokenizer(texts[i:i + batch_size], padding="max_length", truncation=True,
                                    max_length=encoder.max_length, return_tensors="pt")
            out = model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"], output_hidden_states=True)
            states.append(out.hidden_states[n_layers - n_top].float())
            masks.append(tok["attention_mask"].long())
    model.train(was_training)
    s, m = torch.cat(states), torch.cat(masks)
    if file is not None:
        from safetensors.torch import save_file

        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        save_file({"states": s.contiguous(), "attention_mask": m.contiguous()}, str(tmp))
        tmp.replace(file)
    return s, m


__all__ = ["DomainExperts", "STATES_CACHE", "TopLayers", "convert_to_domain_experts", "domain_experts",
           "extended_mask", "lower_states", "route"]
