"""RecBole atomic files -> chronological user sequences -> leave-one-out split.

RecBole's atomic format (Zhao et al., CIKM 2021, "RecBole"; https://recbole.io/docs/user_guide/data/atomic_files.html)
is a tab-separated file per entity with a header ``name:type`` (types ``token``, ``token_seq``, ``float``,
``float_seq``); ``<name>.inter`` holds the interactions, ``<name>.item`` / ``<name>.user`` the side features.
MovieLens-100k ships in this format inside the ``recbole`` wheel; only the files are read here (no RecBole code).

Protocol (RecBole's sequential defaults: ``order: TO``, ``split: {LS: valid_and_test}``,
``MAX_ITEM_LIST_LENGTH: 50``): a user's interactions are sorted by timestamp (stable, so ties keep the file
order); the last item is the test target, the second last the validation target, the rest is training data.
Training instances are every prefix of the training sequence (``(i_1..i_t) -> i_{t+1}``), as RecBole's
sequential data loader builds them. Item ids are remapped to ``1..n_items`` (``0`` is padding); sequences are
**left-padded** to ``max_len`` so the last column is always the most recent item.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

PAD = 0
_TYPES = ("token", "token_seq", "float", "float_seq")


# ------------------------------------------------------------------------------------------- files
def recbole_dataset_dir(name: str = "ml-100k") -> Path:
    """Folder of a dataset shipped in the ``recbole`` wheel (``recbole/dataset_example/<name>``).

    Only :func:`importlib.util.find_spec` is used: no RecBole module is imported.
    """
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "path: no folder given and the 'recbole' package (which ships ml-100k) is not installed; "
            "install it with `pip install --no-deps recbole==1.2.1` or pass a RecBole dataset folder"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / name
    if not folder.is_dir():
        raise ValueError(f"name: recbole ships no example dataset {name!r} (looked in {folder})")
    return folder


def read_atomic(path: str | Path) -> pd.DataFrame:
    """One RecBole atomic file as a DataFrame: columns named without their ``:type`` suffix, ``float``
    columns as float64, ``token`` columns as str, ``*_seq`` columns as lists (split on spaces)."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    names, types = [], []
    for col in header:
        name, sep, kind = col.rpartition(":")
        if not sep or kind not in _TYPES:
            raise ValueError(f"path: {path.name} header column {col!r} is not 'name:type' with type in {_TYPES}")
        names.append(name)
        types.append(kind)
    frame = pd.read_csv(path, sep="\t", header=0, names=names, dtype=str, quoting=csv.QUOTE_NONE,
                        keep_default_na=False, encoding="utf-8")
    for name, kind in zip(names, types, strict=True):
        if kind == "float":
            frame[name] = pd.to_numeric(frame[name], errors="raise").astype(np.float64)
        elif kind == "token_seq":
            frame[name] = frame[name].str.split(" ")
        elif kind == "float_seq":
            frame[name] = frame[name].map(lambda s: [float(v) for v in s.split(" ")] if s else [])
    return frame


@dataclass
class AtomicDataset:
    """The atomic files of one RecBole dataset folder (``.item`` / ``.user`` are ``None`` when absent)."""

    name: str
    folder: Path
    inter: pd.DataFrame
    item: pd.DataFrame | None = None
    user: pd.DataFrame | None = None


def load_atomic(path: str | Path | None = None, *, name: str | None = None) -> AtomicDataset:
    """Read ``<name>.inter`` (required), ``<name>.item`` and ``<name>.user`` from a RecBole dataset folder.

    Args:
        path: a RecBole dataset folder; ``None`` uses the ml-100k copy shipped in the ``recbole`` wheel.
        name: the file stem (default: the folder name, RecBole's convention). If the folder holds exactly
            one ``.inter`` file its stem is used when ``<folder name>.inter`` does not exist.
    """
    folder = recbole_dataset_dir() if path is None else Path(path)
    if not folder.is_dir():
        raise ValueError(f"path: expected a RecBole dataset folder, {str(folder)!r} is not a directory")
    stem = name or folder.name
    inter_file = folder / f"{stem}.inter"
    if not inter_file.is_file():
        found = sorted(folder.glob("*.inter"))
        if name is None and len(found) == 1:
            stem, inter_file = found[0].stem, found[0]
        else:
            raise ValueError(
                f"path: no interaction file {inter_file.name!r} in {str(folder)!r} (a RecBole dataset folder "
                f"needs <name>.inter; found {[f.name for f in found] or 'no .inter file'})"
            )
    inter = read_atomic(inter_file)
    for col in ("user_id", "item_id"):
        if col not in inter.columns:
            raise ValueError(f"path: {inter_file.name} has no {col!r} column (columns: {list(inter.columns)})")
    item_file, user_file = folder / f"{stem}.item", folder / f"{stem}.user"
    return AtomicDataset(stem, folder, inter,
                         read_atomic(item_file) if item_file.is_file() else None,
                         read_atomic(user_file) if user_file.is_file() else None)


# ------------------------------------------------------------------------------------------- sequences
def k_core(inter: pd.DataFrame, k: int) -> pd.DataFrame:
    """Iteratively drop users and items with fewer than ``k`` interactions until none is left
    (RecBole's ``user_inter_num_interval = item_inter_num_interval = [k, inf)``)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k_core: expected an integer >= 1, got {k!r}")
    while True:
        users = inter["user_id"].map(inter["user_id"].value_counts())
        items = inter["item_id"].map(inter["item_id"].value_counts())
        keep = (users >= k) & (items >= k)
        if keep.all():
            return inter
        inter = inter[keep]


@dataclass
class SeqRecData:
    """Chronological user sequences with a leave-one-out split.

    Attributes:
        sequences: per user (index ``u`` in ``0..n_users-1``), the item ids (``1..n_items``) in time order.
        n_items: number of items (ids ``1..n_items``; ``0`` is padding, ``n_items + 1`` is CL4SRec's mask token).
        user_tokens / item_tokens: the original tokens (``item_tokens[i - 1]`` is item ``i``'s token).
        max_len: the number of most recent items an input keeps (RecBole ``MAX_ITEM_LIST_LENGTH``).
    """

    sequences: list[np.ndarray]
    n_items: int
    user_tokens: list[str]
    item_tokens: list[str]
    max_len: int = 50
    atomic: AtomicDataset | None = field(default=None, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def mask_token(self) -> int:
        return self.n_items + 1

    def history(self, u: int, split: str) -> np.ndarray:
        """Items user ``u`` interacted with before the ``split`` target: the training sequence for
        ``train`` and ``valid``, training + validation item for ``test``."""
        if split not in ("train", "valid", "test"):
            raise ValueError(f"split: expected 'train', 'valid' or 'test', got {split!r}")
        seq = self.sequences[u]
        return seq[:-1] if split == "test" else seq[:-2]

    def train_instances(self) -> tuple[Tensor, Tensor, Tensor]:
        """RecBole-style training instances: every prefix of every training sequence.

        Returns:
            ``inputs (N, max_len)`` left-padded long, ``targets (N,)`` item ids, ``users (N,)`` user indices.
        """
        rows, targets, users = [], [], []
        for u, seq in enumerate(self.sequences):
            train = seq[:-2]
            for t in range(1, len(train)):
                rows.append(train[max(0, t - self.max_len): t])
                targets.append(train[t])
                users.append(u)
        return pad_left(rows, self.max_len), torch.as_tensor(np.array(targets), dtype=torch.long), \
            torch.as_tensor(np.array(users), dtype=torch.long)

    def train_windows(self, windows: str = "all") -> tuple[Tensor, Tensor, Tensor]:
        """Next-item training windows over the training sequences (SASRec's all-position objective).

        A window holds up to ``max_len`` consecutive training items as input and the item that follows each
        of them as target (``0`` under padding). ``windows="all"`` cuts each training sequence into
        non-overlapping windows from its end, so every training target of :meth:`train_instances` is predicted
        exactly once per epoch (with up to ``max_len - 1`` items of context instead of ``max_len``);
        ``"last"`` keeps one window per user (its most recent ``max_len`` targets).

        Returns:
            ``inputs (N, max_len)``, ``targets (N, max_len)`` left-padded long, ``users (N,)``.
        """
        if windows not in ("all", "last"):
            raise ValueError(f"windows: expected 'all' or 'last', got {windows!r}")
        ins, outs, users = [], [], []
        for u, seq in enumerate(self.sequences):
            train = seq[:-2]
            end = len(train)
            while end >= 2:
                start = max(0, end - 1 - self.max_len)
                ins.append(train[start:end - 1])
                outs.append(train[start + 1:end])
                users.append(u)
                if windows == "last":
                    break
                end = start + 1
        return pad_left(ins, self.max_len), pad_left(outs, self.max_len), \
            torch.as_tensor(np.array(users), dtype=torch.long)

    def train_sequences(self) -> Tensor:
        """``(n_users, max_len)`` each user's whole training sequence (last ``max_len`` items), left-padded."""
        return pad_left([seq[:-2][-self.max_len:] for seq in self.sequences], self.max_len)

    def eval_inputs(self, split: str) -> tuple[Tensor, Tensor]:
        """``inputs (n_users, max_len)`` (history before the target) and ``targets (n_users,)`` for
        ``valid`` (second-last item) or ``test`` (last item; the history includes the validation item)."""
        if split not in ("valid", "test"):
            raise ValueError(f"split: expected 'valid' or 'test', got {split!r}")
        off = 2 if split == "valid" else 1
        rows = [seq[: len(seq) - off][-self.max_len:] for seq in self.sequences]
        targets = [seq[len(seq) - off] for seq in self.sequences]
        return pad_left(rows, self.max_len), torch.as_tensor(np.array(targets), dtype=torch.long)

    def seen_mask(self, split: str) -> Tensor:
        """``(n_users, n_items)`` bool: items in the user's history before the ``split`` target
        (columns are items ``1..n_items``), for :func:`contrastkit.evaluate.ranking_metrics`'s ``exclude``."""
        mask = torch.zeros(self.n_users, self.n_items, dtype=torch.bool)
        for u in range(self.n_users):
            mask[u, torch.as_tensor(self.history(u, split) - 1, dtype=torch.long)] = True
        return mask


def pad_left(rows: list[np.ndarray], max_len: int) -> Tensor:
    """``(len(rows), max_len)`` long tensor; each row right-aligned (last ``max_len`` items), ``0`` before."""
    out = np.zeros((len(rows), max_len), dtype=np.int64)
    for r, seq in enumerate(rows):
        seq = seq[-max_len:]
        if len(seq):
            out[r, max_len - len(seq):] = seq
    return torch.from_numpy(out)


def build_sequences(atomic: AtomicDataset, *, max_len: int = 50, k: int | None = None,
                    min_length: int = 3) -> SeqRecData:
    """Chronological sequences of ``atomic.inter`` (sorted by ``timestamp`` when present, stably).

    Args:
        max_len: items kept per input (RecBole ``MAX_ITEM_LIST_LENGTH``, 50 for ml-100k).
        k: optional k-core filter (:func:`k_core`) applied before the split; ``None`` keeps every
            interaction (RecBole's ml-100k default).
        min_length: users with fewer interactions are dropped (leave-one-out needs one training item,
            one validation and one test item: 3).
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len: expected an integer >= 1, got {max_len!r}")
    inter = atomic.inter
    if len(inter) == 0:
        raise ValueError(f"path: {atomic.name}.inter holds no interactions")
    if k is not None:
        inter = k_core(inter, k)
        if len(inter) == 0:
            raise ValueError(f"k_core: no interaction survives the {k}-core filter")
    inter = inter.reset_index(drop=True)
    order = ["user_id"] + (["timestamp"] if "timestamp" in inter.columns else [])
    inter = inter.sort_values(order, kind="stable")
    lengths = inter.groupby("user_id", sort=False)["item_id"].transform("size")
    inter = inter[lengths >= min_length]
    if len(inter) == 0:
        raise ValueError(f"min_length: no user has >= {min_length} interactions (leave-one-out needs 3)")
    # Item ids in order of first appearance in the file (RecBole remaps tokens the same way).
    item_tokens = pd.unique(atomic.inter["item_id"][atomic.inter["item_id"].isin(inter["item_id"])])
    item_index = {tok: i + 1 for i, tok in enumerate(item_tokens)}
    user_tokens = pd.unique(atomic.inter["user_id"][atomic.inter["user_id"].isin(inter["user_id"])])
    groups = {u: g for u, g in inter.groupby("user_id", sort=False)["item_id"]}
    sequences = [np.array([item_index[t] for t in groups[u]], dtype=np.int64) for u in user_tokens]
    return SeqRecData(sequences, len(item_tokens), [str(u) for u in user_tokens], [str(i) for i in item_tokens],
                      max_len, atomic)


def load_seqrec(path: str | Path | None = None, *, name: str | None = None, max_len: int = 50,
                k: int | None = None) -> SeqRecData:
    """:func:`load_atomic` + :func:`build_sequences` (ml-100k from the ``recbole`` wheel by default)."""
    return build_sequences(load_atomic(path, name=name), max_len=max_len, k=k)


def check_item_ids(seq: object, n_items: int, name: str = "seq", *, allow_mask: bool = True) -> Tensor:
    """Check a ``(B, L)`` integer tensor of item ids in ``[0, n_items]`` (``n_items + 1`` too with
    ``allow_mask``), each row holding at least one item."""
    if not isinstance(seq, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of item ids, got {type(seq).__name__}")
    if seq.dtype.is_floating_point or seq.dtype.is_complex or seq.dtype == torch.bool:
        raise TypeError(f"{name}: expected an integer dtype, got {seq.dtype}")
    if seq.dim() != 2 or seq.shape[0] == 0 or seq.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (batch, length) tensor, got shape {tuple(seq.shape)}")
    high = n_items + 1 if allow_mask else n_items
    lo, hi = int(seq.min()), int(seq.max())
    if lo < 0 or hi > high:
        raise ValueError(f"{name}: item ids must lie in [0, {high}] (0 = padding), got range [{lo}, {hi}]")
    empty = ~(seq != PAD).any(dim=1)
    if bool(empty.any()):
        raise ValueError(f"{name}: {int(empty.sum())} sequences are empty (all padding; first: row "
                         f"{int(empty.nonzero()[0, 0])})")
    return seq


__all__ = ["PAD", "AtomicDataset", "SeqRecData", "build_sequences", "check_item_ids", "k_core", "load_atomic",
           "load_seqrec", "pad_left", "read_atomic", "recbole_dataset_dir"]
