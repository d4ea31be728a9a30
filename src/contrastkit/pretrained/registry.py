"""Which model classes can be rebuilt from a ``config.json``: a registry of names, never import strings.

A saved model is described by a *spec*, a JSON tree ``{"type": NAME, "kwargs": {...}}`` whose
kwargs may hold nested specs (``{"__module__": spec}``) for sub-modules. ``NAME`` is looked up in
this registry, which is filled from code only: the library's own classes (below, with a function
that reads a live instance's constructor arguments back from its layers) and the classes a user
decorates with :func:`register`. Nothing in a model folder can name a module to import or a
callable to run, so loading a folder from someone else runs no code of theirs.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

Spec = dict[str, Any]
CUSTOM = "custom"
_INIT_ATTR = "_contrastkit_init_kwargs"
M = TypeVar("M", bound=type)


@dataclass(frozen=True)
class Entry:
    """A registered class: how to find it, how to read its kwargs back, how it embeds a batch."""

    name: str
    module: str
    qualname: str
    describe: Callable[[nn.Module], dict[str, Any]] | None = None  # None: kwargs recorded by @register
    registered: type | None = None  # a user's class, kept as is (it may live in __main__ or a notebook)

    def cls(self) -> type:
        if self.registered is not None:
            return self.registered
        obj: Any = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return obj


def _linears(m: nn.Module) -> list[nn.Linear]:
    return [c for c in m.modules() if isinstance(c, nn.Linear)]


def _small_cnn(m: Any) -> dict[str, Any]:
    return {"in_channels": m.in_channels,
            "widths": [c.out_channels for c in m.features if isinstance(c, nn.Conv2d)],
            "feature_dim": m.fc.out_features if isinstance(m.fc, nn.Linear) else None,
            "pool_between": any(isinstance(c, nn.MaxPool2d) for c in m.features)}


def _projection_head(m: Any) -> dict[str, Any]:
    lin = _linears(m)
    return {"in_dim": m.in_dim, "hidden_dim": lin[0].out_features if len(lin) > 1 else 128,
            "out_dim": m.out_dim, "num_layers": len(lin)}


def _logit_scale(m: Any) -> dict[str, Any]:
    # the current value is loaded from the weights; the constructor only needs a valid start
    return {"init_temperature": 1.0 / m.max_scale, "max_scale": m.max_scale,
            "learnable": bool(m.log_scale.requires_grad)}


_BUILTINS: list[Entry] = [
    Entry("small_cnn", "contrastkit.vision.encoders", "SmallCNN", _small_cnn),
    Entry("mlp", "contrastkit.vision.encoders", "MLPEncoder",
          lambda m: {"in_dim": m.in_dim, "hidden": m.net[1].out_features, "out_dim": m.feature_dim}),
    Entry("projection_head", "contrastkit.vision.encoders", "ProjectionHead", _projection_head),
    Entry("timm", "contrastkit.vision.encoders", "TimmBackbone",
          lambda m: {"name": m.name, "in_channels": m.in_channels}),
    Entry("encoder_with_head", "contrastkit.methods.view_contrastive", "EncoderWithHead",
          lambda m: {"encoder": m.encoder, "projector": m.projector}),
    Entry("ts2vec_encoder", "contrastkit.timeseries.encoder", "TSEncoder",
          lambda m: {"input_dims": m.input_dims, "output_dims": m.output_dims,
                     "hidden_dims": m.input_fc.out_features, "depth": len(m.feature_extractor) - 1,
                     "mask_mode": m.mask_mode, "dropout": m.repr_dropout.p}),
    Entry("audio_encoder", "contrastkit.speech.encoders", "AudioEncoder",
          lambda m: {"n_mels": m.n_mels, "hidden": m.conv1.out_channels, "out_dim": m.out_dim}),
    Entry("bag_of_words", "contrastkit.multimodal.text", "BagOfWordsEncoder",
          lambda m: {"vocab_size": m.bag.num_embeddings, "embed_dim": m.bag.embedding_dim, "out_dim": m.out_dim}),
    Entry("logit_scale", "contrastkit.papers.clip.module", "LogitScale", _logit_scale),
    Entry("image_text", "contrastkit.pretrained.two_tower", "ImageTextModel",
          lambda m: {"image_encoder": m.image_encoder, "image_head": m.image_head,
                     "text_encoder": m.text_encoder, "text_head": m.text_head, "logit_scale": m.logit_scale}),
    # plain torch layers, so that a user's nn.Sequential of them needs no registration
    Entry("torch.Sequential", "torch.nn", "Sequential", lambda m: {"modules": list(m)}),
    Entry("torch.Linear", "torch.nn", "Linear",
          lambda m: {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}),
    Entry("torch.Identity", "torch.nn", "Identity", lambda m: {}),
    Entry("torch.Flatten", "torch.nn", "Flatten", lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    Entry("torch.ReLU", "torch.nn", "ReLU", lambda m: {}),
    Entry("torch.GELU", "torch.nn", "GELU", lambda m: {"approximate": m.approximate}),
    Entry("torch.Dropout", "torch.nn", "Dropout", lambda m: {"p": m.p}),
    Entry("torch.BatchNorm1d", "torch.nn", "BatchNorm1d",
          lambda m: {"num_features": m.num_features, "eps": m.eps, "momentum": m.momentum, "affine": m.affine}),
    Entry("torch.LayerNorm", "torch.nn", "LayerNorm",
          lambda m: {"normalized_shape": list(m.normalized_shape), "eps": m.eps,
                     "elementwise_affine": m.elementwise_affine}),
]
_BY_NAME: dict[str, Entry] = {e.name: e for e in _BUILTINS}
_SEQUENTIAL = "torch.Sequential"


def register(name: str) -> Callable[[M], M]:
    """Class decorator: make a user's ``nn.Module`` class saveable and loadable by ``name``.

    The constructor's arguments are recorded on every instance (they must be JSON values —
    numbers, strings, lists, dicts, ``None`` — or sub-modules that are themselves saveable) and
    written to ``config.json``; :func:`~contrastkit.pretrained.from_pretrained` calls the class
    with them again. Import the module that defines the class before loading.

    Example::

        @contrastkit.pretrained.register("my_encoder")
        class MyEncoder(nn.Module):
            def __init__(self, dim: int = 32): ...
    """
    if not isinstance(name, str) or not name or name == CUSTOM:
        raise ValueError(f"name: expected a non-empty model name other than {CUSTOM!r}, got {name!r}")

    def decorate(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register: expected an nn.Module class, got {cls!r}")
        old = _BY_NAME.get(name)
        if old is not None and (old.module, old.qualname) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"name: {name!r} is already registered for {old.module}.{old.qualname}")
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            if type(self) is cls:  # a subclass records its own arguments (or none)
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                recorded = dict(list(bound.arguments.items())[1:])
                for p in signature.parameters.values():  # flatten **kwargs into the call
                    if p.kind is inspect.Parameter.VAR_KEYWORD:
                        recorded.update(recorded.pop(p.name, {}))
                    elif p.kind is inspect.Parameter.VAR_POSITIONAL and recorded.get(p.name):
                        raise TypeError(f"{cls.__name__}: *{p.name} arguments cannot be saved; use keywords")
                    elif p.kind is inspect.Parameter.VAR_POSITIONAL:
                        recorded.pop(p.name, None)
                object.__setattr__(self, _INIT_ATTR, (name, recorded))

        cls.__init__ = recording_init  # type: ignore[misc]
        _BY_NAME[name] = Entry(name, cls.__module__, cls.__qualname__, registered=cls)
        return cls

    return decorate


def _entry_for(module: nn.Module) -> Entry | None:
    recorded = getattr(module, _INIT_ATTR, None)
    if recorded is not None and type(module).__qualname__ == _BY_NAME[recorded[0]].qualname:
        return _BY_NAME[recorded[0]]
    cls = type(module)
    for e in _BY_NAME.values():
        # identity of the class, not its __module__: torch.nn.Linear lives in torch.nn.modules.linear and a
        # contrastkit class may be re-exported from where it used to live
        if e.describe is not None and e.qualname == cls.__qualname__ and e.cls() is cls:
            return e
    return None


def _encode_value(value: Any, where: str) -> Any:
    if isinstance(value, nn.Module):
        return {"__module__": describe(value, where)}
    if isinstance(value, (list, tuple)):
        return [_encode_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _encode_value(v, f"{where}.{k}") for k, v in value.items()}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise TypeError(f"model: constructor argument {where} = {type(value).__name__} is not a JSON value "
                        "(numbers, strings, lists, dicts, None) or a saveable sub-module") from None
    return value


def describe(module: nn.Module, where: str = "model") -> Spec:
    """The spec of ``module`` (recursively); an unregistered class becomes a ``custom`` node."""
    entry = _entry_for(module)
    if entry is None:
        return {"type": CUSTOM, "class": type(module).__qualname__, "kwargs": {}}
    kwargs = getattr(module, _INIT_ATTR)[1] if entry.describe is None else entry.describe(module)
    return {"type": entry.name, "kwargs": {k: _encode_value(v, f"{where}.{k}") for k, v in kwargs.items()}}


def custom_nodes(spec: Any) -> list[str]:
    """Class names of the ``custom`` nodes in a spec tree (those need ``encoder=`` to load)."""
    if isinstance(spec, dict):
        if spec.get("type") == CUSTOM:
            return [str(spec.get("class"))]
        return [c for v in spec.values() for c in custom_nodes(v)]
    if isinstance(spec, list):
        return [c for v in spec for c in custom_nodes(v)]
    return []


def build(spec: Any, where: str, custom: nn.Module | type | Callable[..., nn.Module] | None) -> nn.Module:
    """Rebuild a module tree from its spec; ``custom`` fills the unregistered node."""
    if not isinstance(spec, dict) or "type" not in spec or not isinstance(spec.get("kwargs", {}), dict):
        raise ValueError(f"path: config.json has a malformed model description at {where}")
    kind = spec["type"]
    if kind == CUSTOM:
        if custom is None:
            raise ValueError(f"encoder: the saved model contains the unregistered class {spec.get('class')!r}; "
                             "pass it as from_pretrained(path, encoder=ThatClass or an instance), or decorate "
                             "it with @contrastkit.pretrained.register(name) before saving")
        return custom if isinstance(custom, nn.Module) else custom()
    entry = _BY_NAME.get(kind)
    if entry is None:
        raise ValueError(f"path: config.json names the model type {kind!r}, which is not registered here; "
                         "import the code that registers it (@contrastkit.pretrained.register) first")
    kwargs = {k: _decode_value(v, f"{where}.{k}", custom) for k, v in spec.get("kwargs", {}).items()}
    cls = entry.cls()
    try:
        if entry.name == _SEQUENTIAL:
            return cls(*kwargs["modules"])
        return cls(**kwargs)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"path: config.json arguments for {kind!r} at {where} do not build it: {err}") from None


def _decode_value(value: Any, where: str, custom: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__module__"}:
        return build(value["__module__"], where, custom)
    if isinstance(value, list):
        return [_decode_value(v, f"{where}[{i}]", custom) for i, v in enumerate(value)]
    return value


def registered_names() -> list[str]:
    """Every model type name that ``config.json`` may name."""
    return sorted(_BY_NAME)
