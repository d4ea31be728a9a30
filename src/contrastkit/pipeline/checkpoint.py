"""Atomic checkpoint writes and checked checkpoint reads.

Every checkpoint written through :class:`AtomicCheckpointIO` carries, inside the file itself (so
that the check and the data are replaced together, atomically), the SHA-256 of its content
(:func:`content_digest`: every tensor's dtype, shape and bytes and every other value, in key order)
and the recipe that produced it. :func:`load_checkpoint` recomputes the digest and refuses a file
whose content changed (bit rot, a scrambled tensor record) or that carries no digest (written by
another tool). Only ``torch.load(..., weights_only=True)`` is used: no pickle code runs.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

CHECKSUM_KEY = "contrastkit_sha256"
IDENTITY_KEY = "contrastkit"
CHECKPOINT_FORMAT = "contrastkit-ckpt/1"
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Permissions of a file created by ``open(path, "w")`` now: ``0o666`` minus the umask."""
    return 0o666 & ~_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The file gets the permissions of an ordinary ``open(path, "w")`` (``0o666`` minus the umask),
    not the ``0o600`` of the temporary file it is written through.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, default_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete ``.NAME.*.tmp`` files that :func:`atomic_write_bytes` left behind when killed.

    Only names of that pattern are touched. Call it before a run starts writing (no writer is active).
    Returns the removed paths.
    """
    folder = Path(folder)
    removed = []
    if folder.is_dir():
        for path in folder.glob(".*.tmp"):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _update_digest(h: Any, value: Any) -> None:  # noqa: ANN401 - any checkpoint value
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(value.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _update_digest(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}".encode())
        for item in value:
            _update_digest(h, item)
    else:
        h.update(f"V{type(value).__name__}:{value!r}".encode())


def content_digest(checkpoint: dict[str, Any]) -> str:
    """SHA-256 (hex) of a checkpoint's content, the checksum entry itself excluded."""
    h = hashlib.sha256()
    _update_digest(h, {k: v for k, v in checkpoint.items() if k != CHECKSUM_KEY})
    return h.hexdigest()


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO: atomic writes (temporary file + ``os.replace``) with an embedded checksum.

    Args:
        identity: stored under ``checkpoint["contrastkit"]`` (the recipe), so a resume can check
            that it continues the same run.
    """

    def __init__(self, identity: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.identity = identity

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        checkpoint = dict(checkpoint)
        checkpoint[IDENTITY_KEY] = {"format": CHECKPOINT_FORMAT, **(self.identity or {})}
        checkpoint[CHECKSUM_KEY] = content_digest(checkpoint)
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict:
        return load_checkpoint(path, map_location)


def load_checkpoint(path: str | Path, map_location: Any = "cpu", *, verify: bool = True) -> dict[str, Any]:
    """Load a contrastkit Lightning checkpoint with ``weights_only=True`` and verify its checksum.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a checkpoint, is corrupt, carries no checksum (written by
            another tool) or its content does not match the checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a corrupt file
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:200]
        raise ValueError(f"checkpoint: {path} is corrupt or not a checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"checkpoint: {path} does not hold a Lightning checkpoint (no state_dict)")
    if verify:
        stored = checkpoint.get(CHECKSUM_KEY)
        if not isinstance(stored, str):
            raise ValueError(f"checkpoint: {path} has no contrastkit checksum (written by another tool or "
                             "an older contrastkit); refusing to resume from it")
        if content_digest(checkpoint) != stored:
            raise ValueError(f"checkpoint: {path} is corrupt (its content does not match the SHA-256 "
                             "written with it); resume from an earlier step-N.ckpt or start again")
    return checkpoint


def checkpoint_recipe(checkpoint: dict[str, Any]) -> dict[str, Any] | None:
    """The recipe mapping stored in a contrastkit checkpoint, or ``None``."""
    identity = checkpoint.get(IDENTITY_KEY)
    recipe = identity.get("recipe") if isinstance(identity, dict) else None
    return recipe if isinstance(recipe, dict) else None
