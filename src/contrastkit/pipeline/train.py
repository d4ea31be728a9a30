"""Train a recipe into a run folder: Lightning does the loop, checkpoints, loggers and devices."""

from __future__ import annotations

import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from contrastkit._progress import announce
from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.byol import BYOL
from contrastkit.methods.dino import DINO
from contrastkit.methods.moco import MoCo
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.vicreg import VICReg
from contrastkit.methods.view_contrastive import SimCLR, SupCon, ViewContrastive
from contrastkit.pipeline.builders import build_augment, build_loss, build_model
from contrastkit.pipeline.checkpoint import (
    AtomicCheckpointIO,
    checkpoint_recipe,
    load_checkpoint,
    remove_stale_temporaries,
)
from contrastkit.pipeline.evaluation import baseline_metrics, embed, representation_metrics
from contrastkit.pipeline.recipe import Recipe
from contrastkit.pipeline.report import write_report
from contrastkit.pipeline.runfolder import METRICS_FILE, check_model_size, load_run, save_model, write_json
from contrastkit.training.steps import StepTicks

METHODS: dict[str, type[ViewContrastive]] = {"simclr": SimCLR, "supcon": SupCon, "moco": MoCo, "byol": BYOL,
                                             "simsiam": SimSiam, "barlow_twins": BarlowTwins, "vicreg": VICReg,
                                             "dino": DINO}
# Methods with a built-in objective: method.loss / loss_kwargs are not used.
BUILTIN_LOSS = (BYOL, SimSiam, BarlowTwins, VICReg, DINO)
LAST_CHECKPOINT = "last.ckpt"
MAX_STEPS = 10**9  # Lightning and the step-indexed batches need steps far below 2**63
# Recipe keys a resume may change: they do not alter the trajectory of the trained weights
# (hardware, logging, checkpoint cadence, evaluation) or extend it (max_steps).
RESUME_MAY_CHANGE = ("name", "trainer.max_steps", "trainer.log_every_n_steps", "trainer.checkpoint_every_n_steps",
                     "trainer.num_threads", "trainer.accelerator", "trainer.devices", "trainer.strategy",
                     "trainer.num_nodes", "evaluate.")


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, float]


def load_splits(recipe: Recipe) -> tuple[Any, Any]:
    from contrastkit.vision.data import get_image_dataset

    kwargs = dict(recipe.data.kwargs)
    return (get_image_dataset(recipe.data.dataset, "train", **kwargs),
            get_image_dataset(recipe.data.dataset, "test", **kwargs))


def build_module(recipe: Recipe, images: torch.Tensor, labels: torch.Tensor) -> ViewContrastive:
    torch.manual_seed(recipe.seed)
    model = build_model(recipe.model, images.shape[1], images.shape[-1])
    method = METHODS[recipe.method.name]
    extra: dict[str, Any] = ({"queue_size": recipe.method.queue_size, "momentum": recipe.method.momentum}
                             if method is MoCo else {})
    if method in (BYOL, DINO):
        extra["base_momentum"] = recipe.method.momentum
    return method(
        model,
        None if method in BUILTIN_LOSS else build_loss(recipe.method),
        build_augment(recipe.data.augment),
        images,
        labels,
        n_views=recipe.method.n_views,
        batch_size=recipe.trainer.batch_size,
        lr=recipe.optim.lr,
        weight_decay=recipe.optim.weight_decay,
        seed=recipe.seed,
        optimizer=recipe.optim.optimizer,
        optimizer_momentum=recipe.optim.momentum,
        lr_schedule=recipe.optim.schedule,
        warmup_steps=recipe.optim.warmup_steps,
        final_lr_factor=recipe.optim.final_lr_factor,
        accumulate_grad_batches=recipe.trainer.accumulate_grad_batches,
        **extra,
    )


def _loggers(run_dir: Path, wandb: bool = False) -> list[Any]:
    # A resumed run logs into a new version folder: Lightning would otherwise wipe the earlier CSV.
    attempt = sum(1 for _ in (run_dir / "logs").glob("csv*")) if (run_dir / "logs").exists() else 0
    suffix = "" if attempt == 0 else f"-resume{attempt}"
    loggers: list[Any] = [CSVLogger(run_dir, name="logs", version=f"csv{suffix}")]
    if importlib.util.find_spec("tensorboard") is not None:
        loggers.append(TensorBoardLogger(run_dir, name="logs", version=f"tensorboard{suffix}"))
    if wandb:
        from contrastkit.training.fit import wandb_logger

        loggers.append(wandb_logger(run_dir.name, save_dir=str(run_dir / "logs"), offline=True))
    return loggers


def make_trainer(
    recipe: Recipe, run_dir: Path, *, progress: bool = True, callbacks: list[Callback] | None = None
) -> L.Trainer:
    t = recipe.trainer
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="step-{step}",
        every_n_train_steps=t.checkpoint_every_n_steps,
        save_last=True,
        save_top_k=-1,
        auto_insert_metric_name=False,
        # a moved run folder must not start a "last-v1.ckpt" next to a stale last.ckpt: always overwrite
        enable_version_counter=False,
    )
    try:
        return _lightning_trainer(recipe, run_dir, checkpoint, progress, callbacks)
    except Exception as err:  # noqa: BLE001 - Lightning raises several types for an unusable device setup
        from lightning.fabric.utilities.exceptions import MisconfigurationException

        if not isinstance(err, (MisconfigurationException, ValueError, RuntimeError, ImportError)):
            raise
        first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise ValueError(f"trainer: accelerator={t.accelerator!r}, devices={t.devices}, strategy={t.strategy!r}, "
                         f"precision={t.precision!r} cannot run here: {first[:200]}") from None


def _lightning_trainer(recipe: Recipe, run_dir: Path, checkpoint: ModelCheckpoint, progress: bool,
                       callbacks: list[Callback] | None) -> L.Trainer:
    from contrastkit.training.fit import make_trainer as base_trainer

    t = recipe.trainer
    # the one trainer factory (contrastkit.training.make_trainer), with this run folder's checkpoints,
    # loggers and progress bar; Lightning's own messages stay on (quiet=False), as a CLI run shows them
    return base_trainer(
        None,
        quiet=False,
        enable_checkpointing=True,
        max_steps=t.max_steps,
        # StepTicks holds max_steps ticks, so a fresh run is one epoch; no epoch limit, because a run
        # resumed with a larger max_steps continues past the end of its first epoch
        max_epochs=-1,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        logger=_loggers(run_dir, t.wandb),
        callbacks=[checkpoint, *_monitor_callbacks(recipe, run_dir), *(callbacks or [])],
        accumulate_grad_batches=t.accumulate_grad_batches,
        plugins=[AtomicCheckpointIO({"recipe": recipe.model_dump(mode="json")})],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=t.log_every_n_steps,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )


def _monitor_callbacks(recipe: Recipe, run_dir: Path) -> list[Callback]:
    """``checkpoints/best.ckpt`` by ``trainer.monitor`` (and early stopping with ``trainer.early_stop_patience``)."""
    t = recipe.trainer
    if t.monitor is None:
        if t.early_stop_patience is not None:
            raise ValueError("trainer.early_stop_patience: needs trainer.monitor (the metric to watch)")
        return []
    from contrastkit.training.fit import best_checkpoint

    return best_checkpoint(str(run_dir / "checkpoints"), t.monitor, mode=t.monitor_mode,
                           every_n_train_steps=t.log_every_n_steps, patience=t.early_stop_patience,
                           save_last=False)  # the step checkpoint callback writes last.ckpt


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out |= _flatten(value, f"{prefix}{key}.")
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: data}


def recipe_changes(saved: dict[str, Any], current: Recipe) -> list[str]:
    """Dotted keys whose value differs between a checkpoint's recipe and ``current`` and that a
    resume may not change (everything except :data:`RESUME_MAY_CHANGE`), as ``"key: old -> new"``."""
    old, new = _flatten(saved), _flatten(current.model_dump(mode="json"))
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in RESUME_MAY_CHANGE or key.startswith(tuple(k for k in RESUME_MAY_CHANGE if k.endswith("."))):
            continue
        if old.get(key, "<unset>") != new.get(key, "<unset>"):
            changes.append(f"{key}: {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}")
    return changes


def _is_rank_zero() -> bool:
    return all(os.environ.get(v, "0") == "0" for v in ("LOCAL_RANK", "NODE_RANK", "RANK"))


def _check_run_dir(run_dir: Path) -> None:
    for folder in (run_dir, run_dir / "checkpoints"):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"output: {folder} exists and is not a folder; choose another --output")
    for parent in Path(run_dir).absolute().parents:  # a file on the way makes the folder impossible to create
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"output: {parent} is a file, so {run_dir} cannot be created; "
                                         "choose another --output")
            break


def check_resume(recipe: Recipe, last: Path, *, allow_recipe_change: bool = False) -> int:
    """Verify ``last`` (checksum, recipe, step) before resuming; returns its global step.

    Raises:
        FileNotFoundError / ValueError: missing, corrupt or foreign checkpoint; a checkpoint of a
            different recipe (unless ``allow_recipe_change``); a checkpoint beyond ``trainer.max_steps``.
    """
    checkpoint = load_checkpoint(last)
    saved = checkpoint_recipe(checkpoint)
    if saved is None:
        raise ValueError(f"checkpoint: {last} records no recipe; it was not written by contrastkit train")
    changes = recipe_changes(saved, recipe)
    if changes and not allow_recipe_change:
        shown = "; ".join(changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")
        raise ValueError(f"checkpoint: {last} was written by a different recipe ({shown}); resume with the "
                         "same recipe, or pass --allow-recipe-change to continue anyway")
    step = int(checkpoint.get("global_step", 0))
    if step > recipe.trainer.max_steps:
        raise ValueError(f"trainer.max_steps: {recipe.trainer.max_steps} is below the checkpoint's step {step}; "
                         "resume can only continue a run")
    return step


def train(
    recipe: Recipe,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    evaluate: bool = True,
    callbacks: list[Callback] | None = None,
    allow_recipe_change: bool = False,
) -> RunResult:
    """Train ``recipe`` into ``run_dir``, evaluate, and write the run folder.

    ``resume=True`` continues from ``run_dir/checkpoints/last.ckpt`` after checking it (checksum,
    same recipe up to :data:`RESUME_MAY_CHANGE`, step not beyond ``trainer.max_steps``): a run
    resumed with a larger ``max_steps`` trains exactly the missing steps and ends with the weights of
    an uninterrupted run of that length. Without ``resume``, a folder that already holds checkpoints
    is refused rather than overwritten. Leftover temporary files of a killed run are removed first.
    """
    run_dir = Path(run_dir)
    _check_run_dir(run_dir)
    if recipe.trainer.max_steps > MAX_STEPS:
        raise ValueError(f"trainer.max_steps: expected at most {MAX_STEPS}, got {recipe.trainer.max_steps}")
    last = run_dir / "checkpoints" / LAST_CHECKPOINT
    if resume:
        # fails clearly on a missing, corrupt, foreign or mismatched checkpoint before any work
        start_step = check_resume(recipe, last, allow_recipe_change=allow_recipe_change)
    elif (run_dir / "checkpoints").exists() and any((run_dir / "checkpoints").iterdir()):
        raise FileExistsError(
            f"output: {run_dir} already holds checkpoints; pass --resume to continue it or choose another folder"
        )
    if _is_rank_zero():
        for folder in (run_dir, run_dir / "checkpoints"):
            remove_stale_temporaries(folder)
    if recipe.trainer.num_threads:
        torch.set_num_threads(recipe.trainer.num_threads)
    train_split, test_split = load_splits(recipe)
    check_model_size(recipe.model, train_split.images.shape[1], train_split.images.shape[-1])
    module = build_module(recipe, train_split.images, train_split.labels)
    if resume and start_step == recipe.trainer.max_steps:
        # nothing left to train: export the checkpoint's weights, write no new checkpoint
        if not _is_rank_zero():
            return RunResult(run_dir, {})
        module.load_state_dict(load_checkpoint(last)["state_dict"])
    else:
        trainer = make_trainer(recipe, run_dir, progress=progress, callbacks=callbacks)
        for logger in trainer.loggers:  # the recipe as hyper-parameters: TensorBoard's HPARAMS tab, CSV hparams.yaml
            logger.log_hyperparams(recipe.model_dump())
        ticks = recipe.trainer.max_steps * recipe.trainer.accumulate_grad_batches  # micro-batches
        loader = DataLoader(StepTicks(ticks), batch_size=None, shuffle=False)
        # Batches are a function of the global step (methods.batching), so mid-epoch resume is exact.
        warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")
        warnings.filterwarnings("ignore", message=".*isinstance.treespec, LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*The dirpath has changed from.*")
        trainer.fit(module, train_dataloaders=loader, ckpt_path=str(last) if resume else None)
        if trainer.global_rank != 0:
            return RunResult(run_dir, {})
    save_model(run_dir, module.model, recipe, tuple(train_split.images.shape[1:]))
    metrics = evaluate_run(run_dir, recipe=recipe, module=module) if evaluate else {}
    return RunResult(run_dir, metrics)


def evaluate_run(run_dir: str | Path, *, recipe: Recipe | None = None, module: Any = None) -> dict[str, float]:
    """(Re-)evaluate a saved run: metrics next to baselines into ``metrics.json`` and ``report.md``."""
    run_dir = Path(run_dir)
    announce(f"loading {run_dir}")
    model, saved_recipe = load_run(run_dir)
    recipe = recipe or saved_recipe
    train_split, test_split = load_splits(recipe)
    train_images, train_labels = train_split.images, train_split.labels
    limit = recipe.evaluate.max_train_samples
    if limit is not None:
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    augment = build_augment(recipe.data.augment)
    metrics = representation_metrics(
        model.encoder, model.projector, train_images, train_labels, test_split.images, test_split.labels,
        augment, knn_k=recipe.evaluate.knn_k, seed=recipe.seed,
    )
    if recipe.evaluate.baselines:
        metrics |= baseline_metrics(
            lambda: build_model(recipe.model, train_images.shape[1], train_images.shape[-1]).encoder,
            train_images, train_labels, test_split.images, test_split.labels, seed=recipe.seed,
        )
    write_json(run_dir / METRICS_FILE, metrics)
    announce("writing report.md")
    write_report(run_dir, recipe.name, metrics, embed(model.encoder, test_split.images), test_split.labels)
    return metrics
