"""One trainer factory and one ``fit`` for every training module (reproductions, the CLI's ``train``).

:func:`make_trainer` starts from quiet in-process defaults (CPU, one device, no checkpoints, no logger,
no progress bar) and applies the recipe's trainer section (a mapping of ``lightning.Trainer`` keyword
arguments) and then the call's overrides. :func:`fit` trains a module from its
:class:`~contrastkit.training.sources.BatchSource` (or an explicit loader) and returns it in eval mode.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from contrastkit._progress import step_callback
from contrastkit.training.steps import StepTicks

MODES = ("min", "max")


def wandb_logger(project: str = "contrastkit", *, save_dir: str = ".", offline: bool = True, **kwargs: Any) -> Any:
    """A Lightning ``WandbLogger`` (offline by default: runs are written under ``save_dir/wandb`` and can
    be uploaded later with ``wandb sync``). Needs the ``wandb`` extra."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise ImportError("logger='wandb' needs Weights & Biases: pip install 'contrastkit[wandb]'") from None
    from lightning.pytorch.loggers import WandbLogger

    return WandbLogger(project=project, save_dir=save_dir, offline=offline, **kwargs)


def best_checkpoint(dirpath: str, monitor: str, *, mode: str = "min", every_n_train_steps: int = 1,
                    patience: int | None = None, save_last: bool = True) -> list[Any]:
    """Callbacks keeping the best checkpoint by a logged metric (``best.ckpt`` in ``dirpath``, plus
    ``last.ckpt``) and, with ``patience``, stopping once ``monitor`` has not improved for ``patience``
    checks. ``monitor`` is a logged name such as ``"train_loss"`` or a validation metric."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"monitor: expected the name of a logged metric, got {monitor!r}")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    callbacks: list[Any] = [ModelCheckpoint(dirpath=dirpath, filename="best", monitor=monitor, mode=mode,
                                            save_top_k=1, save_last=save_last, every_n_train_steps=every_n_train_steps,
                                            enable_version_counter=False)]
    if patience is not None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience: expected an integer >= 1, got {patience!r}")
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience, check_on_train_epoch_end=False))
    return callbacks

DEFAULTS: dict[str, Any] = {
    "accelerator": "cpu",
    "devices": 1,
    "enable_checkpointing": False,
    "logger": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
}
_QUIET_WARNINGS = (".*does not have many workers.*", ".*small batch size.*", ".*LeafSpec.*")


def quiet_lightning() -> None:
    """Silence Lightning's start-up banners and the warnings that tiny CPU runs always trigger."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for message in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


def make_trainer(settings: Mapping[str, Any] | None = None, *, quiet: bool = True, **overrides: Any) -> L.Trainer:
    """``lightning.Trainer(**(DEFAULTS | settings | overrides))``.

    Args:
        settings: a recipe's trainer section (``lightning.Trainer`` keyword arguments, e.g.
            ``{"accelerator": "cpu", "devices": 1}``); ``None`` keeps the defaults.
        quiet: call :func:`quiet_lightning` first.
        overrides: per-call keyword arguments (``max_steps=...``, ``max_epochs=...``).
    """
    if settings is not None and not isinstance(settings, Mapping):
        raise TypeError(f"settings: expected a mapping of lightning.Trainer arguments, got {type(settings).__name__}")
    if quiet:
        quiet_lightning()
    options = DEFAULTS | dict(settings or {}) | overrides
    progress = step_callback()  # only while a command reports progress (contrastkit._progress)
    if progress is not None and not options.get("enable_progress_bar"):
        callbacks = options.get("callbacks") or []
        options["callbacks"] = [*(callbacks if isinstance(callbacks, list) else [callbacks]), progress]
    return L.Trainer(**options)


def fit(module: L.LightningModule, settings: Mapping[str, Any] | None = None, *, loader: DataLoader | None = None,
        max_steps: int | None = None, **overrides: Any) -> L.LightningModule:
    """Train ``module`` and return it in eval mode.

    The data is ``loader`` when given, else the module's source (``module.data.loader(max_steps)``:
    one tick per step for an in-memory source), else -- for a module that picks its own rows by global
    step -- one :class:`~contrastkit.training.steps.StepTicks` tick per step. ``max_steps`` is then required.

    A module's ``accumulate_grad_batches`` (:class:`~contrastkit.training.base.StepModule`) is passed to
    the trainer and the tick loader holds ``max_steps * accumulate_grad_batches`` micro-batches.
    """
    if max_steps is not None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps: expected an integer >= 1, got {max_steps!r}")
        overrides["max_steps"] = max_steps
    if loader is None:
        data = getattr(module, "data", None)
        if (data is None or data.indexed) and max_steps is None:
            raise ValueError("max_steps: a module fed by step (in-memory rows) needs the number of steps")
        accumulate = int(getattr(module, "accumulate_grad_batches", 1))
        if accumulate > 1:
            overrides.setdefault("accumulate_grad_batches", accumulate)
        ticks = (max_steps or 0) * accumulate
        loader = data.loader(ticks) if data is not None else DataLoader(StepTicks(ticks), batch_size=None,
                                                                        shuffle=False)
    make_trainer(settings, **overrides).fit(module, loader)
    return module.eval()


__all__ = ["DEFAULTS", "best_checkpoint", "fit", "make_trainer", "quiet_lightning", "wandb_logger"]
