"""``contrastkit.fit``: train a method on your own data in one call, optionally into a run folder.

::

    import contrastkit as ck
    method = ck.methods.SimCLR(encoder=my_cnn, loss=ck.losses.InfoNCE(0.2))
    model = ck.fit(method, data=my_loader, max_steps=2000, output="runs/mine")
    model.save_pretrained("my-model"); emb = ck.from_pretrained("my-model", encoder=MyCNN).encode(images)

``data`` is one of

- a tensor / array ``(n, ...)`` (with ``labels`` ``(n,)`` when the method needs them): kept in memory;
  the rows of global step ``t`` are ``batch_rows(t, n, batch_size, seed)`` and the RNG is reseeded per
  step, so a run resumed from ``output`` replays an uninterrupted run exactly;
- a ``Dataset`` whose items are ``x`` or ``(x, y)``: batched by a ``DataLoader`` shuffled with a
  generator seeded by ``seed`` (incomplete last batch dropped); resume restarts the epoch's order;
- a ``DataLoader``: every batch it yields is a training batch (``x`` or ``(x, y, ...)``), epoch after
  epoch until ``max_steps``. Resume is exact only if the loader is deterministic (seeded
  ``generator=``, no random transforms outside the method).

Methods trained from ``data``: :class:`~contrastkit.methods.SimCLR`, :class:`~contrastkit.methods.SupCon`,
:class:`~contrastkit.methods.MoCo`, BYOL, SimSiam, Barlow Twins, VICReg and DINO (each built with
``encoder=``), and :class:`~contrastkit.methods.TS2Vec`.
:class:`~contrastkit.methods.CLIP` / ``LiT`` take a ``DataLoader`` of ``(images, text)`` batches (token ids, or a
frozen tower's embeddings for LiT). A method that holds its own data (``CLIP`` / ``LiT`` built with their
image-caption pairs, a paper's module, any :class:`~contrastkit.training.StepModule`) is trained with ``data=None``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset, default_collate

from contrastkit.training.fit import make_trainer
from contrastkit.training.sources import LoaderSource, UnboundSource
from contrastkit.training.steps import StepTicks

LAST_CHECKPOINT = "last.ckpt"
_STACK_ERROR = "stack expects each tensor to be equal size"


class _Labelled(Dataset):
    """``(dataset[i], labels[i])`` for a dataset of bare samples and a separate label tensor."""

    def __init__(self, dataset: Dataset, labels: Tensor) -> None:
        self.dataset, self.labels = dataset, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Any, Tensor]:
        item = self.dataset[i]
        return (item[0] if isinstance(item, (tuple, list)) else item), self.labels[i]


def _mixed_sizes(err: RuntimeError) -> ValueError:
    detail = " ".join(str(err).split())
    return ValueError(f"data: samples of different shapes cannot form a batch ({detail[:160]}); resize them to "
                      "one size first (e.g. a resize in the Dataset's transform)")


def _collate(batch: list[Any]) -> Any:
    try:
        return default_collate(batch)
    except RuntimeError as err:
        if _STACK_ERROR in str(err):
            raise _mixed_sizes(err) from None
        raise
    except TypeError as err:  # PIL images, strings, ...: default_collate only stacks tensors and numbers
        detail = " ".join(str(err).split())[:160]
        raise TypeError(f"data: expected samples x or (x, y) of tensors or arrays ({detail}); convert them in "
                        "the Dataset, e.g. with a to-tensor transform") from None


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _as_tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    elif isinstance(x, (list, tuple)) and name == "labels":
        x = torch.as_tensor(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a tensor or array, got {type(x).__name__}")
    return x


def _check_labels(labels: Any, n: int) -> Tensor:
    y = _as_tensor(labels, "labels")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"labels: expected {n} labels (one per sample of data), got shape {tuple(y.shape)}")
    return y


def _first_batch(loader: DataLoader) -> tuple[Tensor, Tensor | None]:
    from contrastkit.methods.view_contrastive import loader_pair

    try:
        batch = next(iter(loader))
    except StopIteration:
        raise ValueError("data: the DataLoader yields no batches (empty data set, or drop_last with fewer "
                         "samples than batch_size)") from None
    except RuntimeError as err:
        if _STACK_ERROR in str(err):
            raise _mixed_sizes(err) from None
        raise
    return loader_pair(batch)


def _dataset_length(dataset: Any) -> int | None:
    if isinstance(dataset, IterableDataset):
        return None
    try:
        return len(dataset)
    except TypeError:
        return None


def _bind_data(method: L.LightningModule, data: Any, labels: Any,
               seed: int) -> tuple[DataLoader | None, str, Tensor]:
    """Attach ``data`` to ``method``; returns the loader Lightning iterates (``None``: one tick per step),
    the kind of data and a sample batch."""
    batch_size = int(getattr(method, "batch_size", 0) or 0)
    if isinstance(data, (Tensor, np.ndarray)):
        x = _as_tensor(data, "data")
        if x.dim() < 2 or x.shape[0] == 0:
            raise ValueError(f"data: expected a non-empty tensor (n, ...) of samples, got shape {tuple(x.shape)}")
        y = None if labels is None else _check_labels(labels, x.shape[0])
        if not x.is_floating_point():
            raise TypeError(f"data: expected floating-point samples, got {x.dtype}; convert them, e.g. x.float() / 255")
        if batch_size > x.shape[0]:
            raise ValueError(f"batch_size: {batch_size} exceeds the {x.shape[0]} samples of data")
        _check_supervision(method, y)
        method.bind(x, y, x[:2])
        return None, "tensor", x[:2]
    if isinstance(data, DataLoader):
        if labels is not None:
            raise TypeError("labels: a DataLoader brings its own labels; yield (x, y) batches instead")
        if _dataset_length(data.dataset) == 0:
            raise ValueError("data: the DataLoader's data set has no samples")
        loader, kind = data, "loader"
    elif isinstance(data, Dataset):
        n = _dataset_length(data)
        if n == 0:
            raise ValueError("data: the data set has no samples")
        if n is None:
            raise TypeError("data: an iterable-style Dataset has no length to shuffle; wrap it in a DataLoader")
        if labels is not None:
            data = _Labelled(data, _check_labels(labels, n))
        if batch_size > n:
            raise ValueError(f"batch_size: {batch_size} exceeds the {n} samples of data")
        loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=_collate,
                            generator=torch.Generator().manual_seed(seed))
        kind = "dataset"
    else:
        raise TypeError(f"data: expected a tensor, an array, a Dataset or a DataLoader, got {type(data).__name__}")
    x, y = _first_batch(loader)
    _check_supervision(method, y)
    method.bind(None, None, x, loader)
    return loader, kind, x


def _check_supervision(method: Any, labels: Tensor | None) -> None:
    if getattr(method, "use_labels", False) and labels is None:
        raise ValueError(f"labels: {type(method).__name__} needs a label per sample; pass labels= or data "
                         "yielding (x, y) pairs")


def _default_augment(method: Any, sample: Tensor) -> None:
    if not hasattr(method, "augment") or method.augment is not None:
        return
    if sample.dim() != 4:
        raise ValueError(f"augment: {type(method).__name__} contrasts augmented views and has no default for "
                         f"samples of shape {tuple(sample.shape[1:])}; pass augment=(x -> x')")
    from contrastkit.vision.augment import SimCLRAugment

    # torch-only views valid at any image size; for natural photos pass a colour-jitter preset
    method.augment = SimCLRAugment.for_fashion_mnist()


def _identity(method: Any, settings: dict[str, Any]) -> dict[str, Any]:
    loss = getattr(method, "loss_fn", None)
    return {"method": type(method).__name__, "loss": type(loss).__name__ if loss is not None else None, **settings}


def _run_folder_trainer(output: Path, identity: dict[str, Any], max_steps: int, every: int) -> dict[str, Any]:
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from contrastkit.pipeline.checkpoint import AtomicCheckpointIO, remove_stale_temporaries

    for folder in (output, output / "checkpoints"):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"output: {folder} exists and is not a folder")
        if folder.is_dir():
            remove_stale_temporaries(folder)
    attempt = sum(1 for _ in (output / "logs").glob("csv*")) if (output / "logs").is_dir() else 0
    checkpoint = ModelCheckpoint(dirpath=output / "checkpoints", filename="step-{step}", every_n_train_steps=every,
                                 save_last=True, save_top_k=-1, auto_insert_metric_name=False,
                                 enable_version_counter=False)
    return {"enable_checkpointing": True, "callbacks": [checkpoint],
            "plugins": [AtomicCheckpointIO({"fit": identity})],
            "logger": CSVLogger(output, name="logs", version="csv" if attempt == 0 else f"csv-resume{attempt}"),
            "log_every_n_steps": max(1, min(50, max_steps)), "default_root_dir": output}


def _check_resume(last: Path, identity: dict[str, Any], max_steps: int) -> None:
    from contrastkit.pipeline.checkpoint import IDENTITY_KEY, load_checkpoint

    if not last.is_file():
        raise FileNotFoundError(f"resume: {last} does not exist; train without resume=True first")
    checkpoint = load_checkpoint(last)
    saved = (checkpoint.get(IDENTITY_KEY) or {}).get("fit")
    if not isinstance(saved, dict):
        raise ValueError(f"resume: {last} was not written by contrastkit.fit")
    changed = [f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in identity.items()
               if k != "max_steps" and saved.get(k) != v]
    if changed:
        raise ValueError(f"resume: {last} was written with other settings ({'; '.join(changed[:4])})")
    step = int(checkpoint.get("global_step", 0))
    if step > max_steps:
        raise ValueError(f"max_steps: {max_steps} is below the checkpoint's step {step}; resume only continues")


def fit(method: L.LightningModule, data: Any = None, *, labels: Any = None, max_steps: int,
        batch_size: int | None = None, augment: Any = None, lr: float | None = None, seed: int | None = None,
        output: str | os.PathLike[str] | None = None, resume: bool = False, checkpoint_every: int | None = None,
        trainer: dict[str, Any] | None = None, progress: bool = False) -> L.LightningModule:
    """Train ``method`` for ``max_steps`` optimiser steps on ``data`` and return it in eval mode.

    Args:
        method: e.g. ``ck.methods.SimCLR(encoder=net, loss=ck.losses.InfoNCE(0.2))``, ``SupCon``,
            ``MoCo``, ``TS2Vec(TSEncoder(C))``; or a module holding its own data (then ``data=None``).
        data: a tensor / array ``(n, ...)``, a ``Dataset`` (items ``x`` or ``(x, y)``) or a ``DataLoader``
            (see the module docstring for batching and resume semantics).
        labels: ``(n,)`` integer labels for a tensor or a Dataset of bare samples; only methods that
            use them (SupCon) need them. A ``DataLoader`` yields its own.
        max_steps: optimiser steps (>= 1). ``batch_size`` (>= 2), ``lr``, ``seed``: override the method's.
        augment: the view augmentation ``x -> x'`` of view methods (default for images ``(n, C, H, W)``:
            resized crop, flip, intensity and noise, :meth:`SimCLRAugment.for_fashion_mnist`).
        output: a run folder to write: ``model.safetensors`` + ``config.json`` (load with
            :func:`contrastkit.from_pretrained`), ``checkpoints/`` (``last.ckpt``, every ``checkpoint_every``
            steps) and ``logs/`` (CSV). ``resume=True`` continues from ``output/checkpoints/last.ckpt``.
        trainer: extra ``lightning.Trainer`` arguments (default: ``accelerator="auto"``, one device).
        progress: show Lightning's progress bar.

    Raises:
        TypeError / ValueError: one line naming the bad argument (empty data, labels of another
        length, samples of mixed shapes, a method without the labels it needs, ...).
    """
    if not isinstance(method, L.LightningModule):
        raise TypeError(f"method: expected a contrastkit method (a LightningModule), got {type(method).__name__}")
    max_steps = _positive_int(max_steps, "max_steps")
    if resume and output is None:
        raise ValueError("resume: needs the run folder to continue; pass output=")
    if trainer is not None and not isinstance(trainer, dict):
        raise TypeError(f"trainer: expected a dict of lightning.Trainer arguments, got {type(trainer).__name__}")
    settings: dict[str, Any] = {}
    if batch_size is not None:
        if not hasattr(method, "batch_size"):
            raise TypeError(f"batch_size: {type(method).__name__} has no batch size to set")
        if isinstance(data, DataLoader):
            raise ValueError("batch_size: a DataLoader sets its own batch size; leave batch_size=None")
        method.batch_size = _positive_int(batch_size, "batch_size", 2)
    if seed is not None:
        _positive_int(seed, "seed", 0)
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf")):
        raise ValueError(f"lr: expected a finite number > 0, got {lr!r}")
    for name, value in (("lr", lr), ("seed", seed)):
        if value is not None:
            if not hasattr(method, name):
                raise TypeError(f"{name}: {type(method).__name__} has no {name} to set")
            setattr(method, name, value)
    if augment is not None:
        if not hasattr(method, "augment"):
            raise TypeError(f"augment: {type(method).__name__} takes no view augmentation")
        if not callable(augment):
            raise TypeError(f"augment: expected a callable x -> x', got {type(augment).__name__}")
        method.augment = augment
    run_seed = int(getattr(method, "seed", 0) or 0)
    if data is None:
        if labels is not None:
            raise ValueError("labels: given without data")
        own = getattr(method, "data", None)
        if isinstance(own, UnboundSource) or getattr(method, "_encoder_only", None) is not None or (
                not isinstance(own, LoaderSource) and hasattr(method, "bind")
                and getattr(method, "images", getattr(method, "series", None)) is None):
            raise ValueError(f"data: {type(method).__name__} has no training data; pass data=")
        loader, kind, sample = None, "own", getattr(method, "images", None)
    else:
        if not hasattr(method, "bind"):
            raise TypeError(f"data: {type(method).__name__} holds its own training data; build it with its data "
                            "and call fit(method) without data=")
        loader, kind, sample = _bind_data(method, data, labels, run_seed)
    if isinstance(sample, Tensor):
        _default_augment(method, sample)
    settings |= {"data": kind, "batch_size": getattr(method, "batch_size", None), "seed": run_seed,
                 "lr": getattr(method, "lr", None), "max_steps": max_steps}
    if loader is None:
        own = getattr(method, "data", None)  # a StepModule's source, or one tick per step
        loader = own.loader(max_steps) if own is not None and hasattr(own, "loader") else DataLoader(
            StepTicks(max_steps), batch_size=None, shuffle=False)

    # a user's batches are split across ranks by Lightning's sampler; step-indexed rows split themselves
    options: dict[str, Any] = {"accelerator": "auto", "max_steps": max_steps, "max_epochs": -1,
                               "enable_progress_bar": progress,
                               "use_distributed_sampler": kind in ("loader", "dataset")}
    ckpt_path = None
    if output is not None:
        out = Path(output)
        identity = _identity(method, settings)
        last = out / "checkpoints" / LAST_CHECKPOINT
        if resume:
            _check_resume(last, identity, max_steps)
            ckpt_path = str(last)
        elif (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir()):
            raise FileExistsError(f"output: {out} already holds checkpoints; pass resume=True to continue it or "
                                  "choose another folder")
        every = _positive_int(checkpoint_every, "checkpoint_every") if checkpoint_every is not None else max_steps
        options |= _run_folder_trainer(out, identity, max_steps, every)
    import warnings

    warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    try:
        make_trainer(options | dict(trainer or {})).fit(method, loader, ckpt_path=ckpt_path)
    except RuntimeError as err:
        if _STACK_ERROR in str(err):
            raise _mixed_sizes(err) from None
        raise
    method.eval()
    if output is not None and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        from contrastkit.pretrained import save_pretrained

        save_pretrained(method, output, metadata={"fit": _identity(method, settings)})
    return method


__all__ = ["fit"]
