"""The training layer: one base module (:class:`StepModule`), batch sources and one ``fit``."""

from contrastkit.training.base import StepModule
from contrastkit.training.fit import fit, make_trainer
from contrastkit.training.sources import BatchSource, InMemorySource, LoaderSource, as_source
from contrastkit.training.steps import StepTicks, batch_rows, step_seed

__all__ = ["BatchSource", "InMemorySource", "LoaderSource", "StepModule", "StepTicks", "as_source", "batch_rows",
           "fit", "make_trainer", "step_seed"]
