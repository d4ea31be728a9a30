"""``save_pretrained`` / ``from_pretrained``: a model folder of ``model.safetensors`` + ``config.json``.

::

    folder/
      model.safetensors   every persistent weight and buffer (safetensors: no pickle)
      config.json         {"format": "contrastkit-model/1", "model": <spec>, "contrastkit_version": ...,
                           "metadata": {...}}

The spec names registered classes only (:mod:`contrastkit.pretrained.registry`). ``from_pretrained``
also reads the run folders written by ``contrastkit train`` (``format: contrastkit-run/1``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from contrastkit.pretrained.registry import build, custom_nodes, describe

FORMAT = "contrastkit-model/1"
RUN_FORMAT = "contrastkit-run/1"
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ST_MODULES_FILE = "modules.json"
TEXT_METADATA_FILE = "contrastkit_metadata.json"
_METHOD_PACKAGES = ("contrastkit.methods", "contrastkit.papers", "contrastkit.training")


def _shareable(model: object) -> nn.Module:
    """A trained Lightning method becomes the part worth sharing (CLIP / LiT: the two towers)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    import lightning as L

    if not (isinstance(model, L.LightningModule) and type(model).__module__.startswith(_METHOD_PACKAGES)):
        return model
    if isinstance(getattr(model, "image_encoder", None), nn.Module) and hasattr(model, "image_head"):
        from contrastkit.pretrained.two_tower import ImageTextModel

        return ImageTextModel.from_clip(model)  # CLIP, LiT and their variants: the two towers
    # the other methods hold the trained network: SimCLR / SupCon / MoCo an EncoderWithHead in
    # .model, the time-series methods a TSEncoder in .encoder; data and optimiser stay behind
    for attr in ("model", "encoder"):
        part = getattr(model, attr, None)
        if isinstance(part, nn.Module):
            return part
    return model


def _is_text_encoder(module: nn.Module) -> bool:
    # by module path, so that saving an image model never imports transformers
    return type(module).__module__.startswith("contrastkit.text") and type(module).__name__ == "TextEncoder"


def is_sentence_encoder_folder(folder: Path) -> bool:
    """A sentence-transformers folder (``modules.json`` next to a transformers ``config.json``)."""
    return (folder / ST_MODULES_FILE).is_file() and (folder / CONFIG_FILE).is_file()


def save_pretrained(model: nn.Module, path: str | os.PathLike[str], *,
                    metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the folder ``path`` (created) so :func:`from_pretrained` rebuilds it.

    ``model``: a library model (encoder, ``EncoderWithHead``, ``TSEncoder``, a trained ``SimCLR``,
    ``CLIP`` or ``LiT``, ...), a class decorated with :func:`~contrastkit.pretrained.register`, or
    any other ``nn.Module`` (then loading needs ``from_pretrained(path, encoder=...)``).
    A :class:`contrastkit.text.TextEncoder` is written as a sentence-transformers folder
    (:func:`contrastkit.text.save_sentence_transformer`: ``SentenceTransformer(path)`` loads it too),
    with ``metadata`` in ``contrastkit_metadata.json``.
    ``metadata``: JSON values stored in ``config.json`` (e.g. the input shape, the recipe).
    Returns the folder.
    """
    module = _shareable(model)
    if metadata is not None:
        try:
            json.dumps(metadata)
        except (TypeError, ValueError) as err:
            raise TypeError(f"metadata: expected JSON values, got {err}") from None
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"path: {folder} exists and is not a folder")
    if _is_text_encoder(module):
        from contrastkit.text.encoder import save_sentence_transformer

        save_sentence_transformer(module, folder)  # type: ignore[arg-type]
        if metadata is not None:
            (folder / TEXT_METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        return folder
    spec = describe(module)
    folder.mkdir(parents=True, exist_ok=True)
    # clone: safetensors refuses tensors that share storage (tied or viewed weights)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    tmp = folder / f".{MODEL_FILE}.tmp"
    save_file(state, str(tmp), metadata={"format": FORMAT})
    tmp.replace(folder / MODEL_FILE)
    from contrastkit import __version__

    config = {"format": FORMAT, "model": spec, "contrastkit_version": __version__, "metadata": metadata or {}}
    tmp = folder / f".{CONFIG_FILE}.tmp"
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    tmp.replace(folder / CONFIG_FILE)
    return folder


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of a model or run folder, checked to be a contrastkit one."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"path: {folder} is not a folder")
    file = folder / CONFIG_FILE
    if not file.is_file():
        raise ValueError(f"path: {folder} is not a contrastkit model folder (no {CONFIG_FILE})")
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"path: {file} is not valid JSON ({err})") from None
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt not in (FORMAT, RUN_FORMAT):
        hint = ("; a transformers model folder loads with contrastkit.text.TextEncoder.from_pretrained"
                if isinstance(config, dict) and "model_type" in config else "")
        raise ValueError(f"path: {folder} is not a contrastkit model folder ({CONFIG_FILE} format {fmt!r}, "
                         f"expected {FORMAT!r} or {RUN_FORMAT!r}){hint}")
    if not (folder / MODEL_FILE).is_file():
        raise ValueError(f"path: {folder} has {CONFIG_FILE} but no {MODEL_FILE}")
    return config


def load_weights(module: nn.Module, file: Path) -> None:
    """Load ``file`` into ``module``, refusing missing, unexpected or mis-shaped weights in one line."""
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"path: {file} is not a readable safetensors file ({err})") from None
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        raise ValueError(f"path: {file.name} lacks {len(missing)} weight(s) the model in {CONFIG_FILE} has, "
                         f"e.g. {missing[0]!r}")
    if unexpected:
        raise ValueError(f"path: {file.name} has {len(unexpected)} weight(s) the model in {CONFIG_FILE} lacks, "
                         f"e.g. {unexpected[0]!r}")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise ValueError(f"path: weight {k!r} has shape {tuple(state[k].shape)} in {file.name} but "
                             f"{tuple(v.shape)} in the model described by {CONFIG_FILE}")
    module.load_state_dict(state)


def from_pretrained(path: str | os.PathLike[str], *, encoder: nn.Module | type | None = None,
                    device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_pretrained` (or a ``contrastkit train`` run folder), in eval mode.

    ``encoder``: the class (called with no arguments) or an instance for the one unregistered
    module of the saved model, when it holds one. Only safetensors and JSON are read; the
    classes come from the registry, never from the folder. A sentence-transformers folder (``modules.json``,
    e.g. one written for a :class:`contrastkit.text.TextEncoder`) loads as a ``TextEncoder`` with the
    folder's ``max_seq_length``.
    """
    folder = Path(path)
    if folder.is_dir() and is_sentence_encoder_folder(folder):
        if encoder is not None:
            raise ValueError("encoder: a sentence-transformers folder has no unregistered part; leave encoder=None")
        from contrastkit.text.encoder import TextEncoder

        # the folder's own max_seq_length, so that a saved encoder comes back as it was
        st_config = folder / "sentence_bert_config.json"
        max_length = 128
        if st_config.is_file():
            try:
                value = json.loads(st_config.read_text()).get("max_seq_length")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                value = None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                max_length = value
        return TextEncoder.from_pretrained(folder, device=device, max_length=max_length).eval()
    config = read_config(folder)
    if config["format"] == RUN_FORMAT:
        from contrastkit.pipeline.runfolder import load_model

        return load_model(folder).to(device)
    spec = config.get("model")
    customs = custom_nodes(spec)
    if len(customs) > 1:
        raise ValueError(f"path: the saved model holds {len(customs)} unregistered classes {customs}; "
                         "register them with @contrastkit.pretrained.register to load it")
    if encoder is not None and not customs:
        raise ValueError("encoder: the saved model has no unregistered part to fill; leave encoder=None")
    if encoder is not None and not (isinstance(encoder, nn.Module) or callable(encoder)):
        raise TypeError(f"encoder: expected an nn.Module class or instance, got {type(encoder).__name__}")
    module = build(spec, "model", encoder)
    load_weights(module, folder / MODEL_FILE)
    return module.to(device).eval()
