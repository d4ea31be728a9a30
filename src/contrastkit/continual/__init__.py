"""Continual-learning parts, modality-free: class-incremental task plans, rehearsal buffers, a frozen teacher
copy and the standard metrics (average accuracy, forgetting)."""

import copy

from torch import nn

from contrastkit.continual.buffer import ClassBalancedBuffer, ReservoirBuffer
from contrastkit.continual.metrics import average_accuracy, forgetting, mean_average_accuracy
from contrastkit.continual.tasks import TaskPlan


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode with every parameter frozen (``requires_grad=False``): the teacher
    of the previous task in rehearsal + distillation / teacher-student contrastive schemes."""
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


__all__ = ["ClassBalancedBuffer", "ReservoirBuffer", "TaskPlan", "average_accuracy", "forgetting", "frozen_copy",
           "mean_average_accuracy"]
