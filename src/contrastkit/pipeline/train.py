"""Train a recipe into a run folder: Lightning does the loop, checkpoints, loggers and devices."""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from contrastkit.methods.batching import StepTicks
from contrastkit.methods.moco import MoCo
from contrastkit.methods.view_contrastive import SimCLR, SupCon, ViewContrastive
from contrastkit.pipeline.builders import build_augment, build_loss, build_model
from contrastkit.pipeline.checkpoint import AtomicCheckpointIO, load_checkpoint
from contrastkit.pipeline.evaluation import baseline_metrics, embed, representation_metrics
from contrastkit.pipeline.recipe import Recipe
from contrastkit.pipeline.report import write_report
from contrastkit.pipeline.runfolder import METRICS_FILE, load_run, save_model, write_json

METHODS: dict[str, type[ViewContrastive]] = {"simclr": SimCLR, "supcon": SupCon, "moco": MoCo}
LAST_CHECKPOINT = "last.ckpt"


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
    extra = ({"queue_size": recipe.method.queue_size, "momentum": recipe.method.momentum}
             if method is MoCo else {})
    return method(
        model,
        build_loss(recipe.method),
        build_augment(recipe.data.augment),
        images,
        labels,
        n_views=recipe.method.n_views,
        batch_size=recipe.trainer.batch_size,
        lr=recipe.optim.lr,
        weight_decay=recipe.optim.weight_decay,
        seed=recipe.seed,
        **extra,
    )


def _loggers(run_dir: Path) -> list[Any]:
    # A resumed run logs into a new version folder: Lightning would otherwise wipe the earlier CSV.
    attempt = sum(1 for _ in (run_dir / "logs").glob("csv*")) if (run_dir / "logs").exists() else 0
    suffix = "" if attempt == 0 else f"-resume{attempt}"
    loggers: list[Any] = [CSVLogger(run_dir, name="logs", version=f"csv{suffix}")]
    if importlib.util.find_spec("tensorboard") is not None:
        loggers.append(TensorBoardLogger(run_dir, name="logs", version=f"tensorboard{suffix}"))
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
    )
    return L.Trainer(
        max_steps=t.max_steps,
        max_epochs=1,  # one pass over StepTicks is the whole run (the progress bar shows "Epoch 0/0")
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        logger=_loggers(run_dir),
        callbacks=[checkpoint, *(callbacks or [])],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=t.log_every_n_steps,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )


def train(
    recipe: Recipe,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    evaluate: bool = True,
    callbacks: list[Callback] | None = None,
) -> RunResult:
    """Train ``recipe`` into ``run_dir``, evaluate, and write the run folder.

    ``resume=True`` continues from ``run_dir/checkpoints/last.ckpt``; without it, a folder that
    already holds checkpoints is refused rather than overwritten.
    """
    run_dir = Path(run_dir)
    last = run_dir / "checkpoints" / LAST_CHECKPOINT
    if resume:
        load_checkpoint(last)  # fails clearly on a missing or corrupt checkpoint before any work
    elif (run_dir / "checkpoints").exists() and any((run_dir / "checkpoints").iterdir()):
        raise FileExistsError(
            f"output: {run_dir} already holds checkpoints; pass --resume to continue it or choose another folder"
        )
    if recipe.trainer.num_threads:
        torch.set_num_threads(recipe.trainer.num_threads)
    train_split, test_split = load_splits(recipe)
    module = build_module(recipe, train_split.images, train_split.labels)
    trainer = make_trainer(recipe, run_dir, progress=progress, callbacks=callbacks)
    for logger in trainer.loggers:  # the recipe as hyper-parameters: TensorBoard's HPARAMS tab, CSV hparams.yaml
        logger.log_hyperparams(recipe.model_dump())
    loader = DataLoader(StepTicks(recipe.trainer.max_steps), batch_size=None, shuffle=False)
    # Batches are a function of the global step (methods.batching), so mid-epoch resume is exact.
    warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")
    warnings.filterwarnings("ignore", message=".*isinstance.treespec, LeafSpec.*")
    trainer.fit(module, train_dataloaders=loader, ckpt_path=str(last) if resume else None)
    if trainer.global_rank != 0:
        return RunResult(run_dir, {})
    save_model(run_dir, module.model, recipe, tuple(train_split.images.shape[1:]))
    metrics = evaluate_run(run_dir, recipe=recipe, module=module) if evaluate else {}
    return RunResult(run_dir, metrics)


def evaluate_run(run_dir: str | Path, *, recipe: Recipe | None = None, module: Any = None) -> dict[str, float]:
    """(Re-)evaluate a saved run: metrics next to baselines into ``metrics.json`` and ``report.md``."""
    run_dir = Path(run_dir)
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
    write_report(run_dir, recipe.name, metrics, embed(model.encoder, test_split.images), test_split.labels)
    return metrics
