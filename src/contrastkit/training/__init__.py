"""The training layer: one base module (:class:`StepModule`), batch sources and one ``fit``."""

from contrastkit.training.base import StepModule
from contrastkit.training.fit import best_checkpoint, fit, make_trainer, wandb_logger
from contrastkit.training.lars import LARS, lars_param_groups
from contrastkit.training.loop import StepFunctionModule, fit_steps, optimizer_step
from contrastkit.training.schedules import warmup_cosine
from contrastkit.training.sources import BatchSource, InMemorySource, LoaderSource, as_source
from contrastkit.training.steps import StepTicks, batch_rows, step_seed

__all__ = ["LARS", "BatchSource", "best_checkpoint", "lars_param_groups", "wandb_logger", "warmup_cosine",
           "InMemorySource", "LoaderSource", "StepModule", "StepTicks", "as_source", "batch_rows",
           "StepFunctionModule", "fit", "fit_steps", "make_trainer", "optimizer_step", "step_seed"]
