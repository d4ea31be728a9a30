"""The one training base: :class:`StepModule` owns the step's rows, re-seeding, the optimizer and logging.

A subclass implements :meth:`StepModule.loss_terms` (``batch dict -> {"loss": total, ...}``) and nothing
of the loop: the rows of global step ``t`` on rank ``r`` of ``W`` are
``batch_rows(t, n, batch_size, seed, r, W)`` (the global batch split ``r::W``), the RNG is reseeded to
``step_seed(seed, t, r)`` before the step's augmentations, every term is logged as ``train_<name>``,
and :meth:`configure_optimizers` builds Adam / AdamW / SGD / LARS over :meth:`trainable_parameters`
with an optional per-step warm-up + cosine learning-rate schedule.

Gradient accumulation (``accumulate_grad_batches=a``): optimizer step ``t`` is made of the micro-batches
``t * a + m`` (``m < a``), each of ``batch_size`` rows, and the gradient is the mean of their gradients
(Lightning divides each micro-batch loss by ``a``). The loss of a contrastive method is therefore the mean
of ``a`` batch-``B`` losses, each with the negatives of its own micro-batch: accumulation saves memory but
does **not** enlarge the negative set (a batch-``aB`` InfoNCE is a different, lower-variance objective).
To train on the large-batch objective with small-batch memory use GradCache
(:mod:`contrastkit.methods.gradcache`).

Under DDP a subclass whose loss needs the negatives of every rank calls :meth:`gather` on its
embeddings (autograd all-gather: the gradient reaching each rank's rows is the sum over ranks, so
DDP's average of the parameter gradients equals the single-process gradient on the concatenated
batch; see :mod:`contrastkit.functional.distributed`) and :meth:`shared_seed` before randomness that
must be the same on every rank (e.g. sampled partner labels of the global batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import lightning as L
import torch
from torch import Tensor, nn

from contrastkit.functional import distributed as ckdist
from contrastkit.training.lars import LARS, lars_param_groups
from contrastkit.training.schedules import SCHEDULES, warmup_cosine
from contrastkit.training.sources import BatchSource, InMemorySource, as_source
from contrastkit.training.steps import batch_rows, step_seed

OPTIMIZERS = ("adam", "adamw", "sgd", "lars")


def source_field(name: str) -> property:
    """A read-only property returning ``self.source.<name>``: one named tensor of an in-memory source.

    ``images = source_field("images")`` in a :class:`StepModule` subclass gives ``module.images``
    (``(N, C, H, W)`` for an image source), moving with the module as the source is registered on it.
    """
    def get(self: StepModule) -> Tensor:
        return getattr(self.source, name)

    get.__name__ = name
    return property(get, doc=f"The training source's ``{name}`` tensor.")


class StepModule(L.LightningModule):
    """Base LightningModule of the training schemes (see the module docstring).

    Args:
        source: the training data (:class:`InMemorySource`, :class:`LoaderSource` or a ``DataLoader``).
        batch_size: global batch size (split across ranks under DDP); for an in-memory source.
        lr, weight_decay: optimizer settings; ``optimizer``: ``"adam"`` or ``"adamw"``.
        seed: base seed of the step's rows and augmentation RNG.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (heavy-ball momentum ``optimizer_momentum``) or ``"lars"``
            (:class:`~contrastkit.training.lars.LARS`; biases and norm parameters excluded from decay and
            adaptation).
        lr_schedule: ``"constant"`` or ``"warmup_cosine"`` (:func:`~contrastkit.training.schedules.warmup_cosine`
            over the trainer's ``max_steps``, stepped every optimizer step).
        warmup_steps, final_lr_factor: the schedule's warm-up length and final multiplier.
        accumulate_grad_batches: micro-batches per optimizer step (see the module docstring).
    """

    def __init__(self, source: BatchSource | Any, *, batch_size: int, lr: float, weight_decay: float = 0.0,
                 seed: int = 0, optimizer: Literal["adam", "adamw", "sgd", "lars"] = "adamw",
                 optimizer_momentum: float = 0.9, lr_schedule: Literal["constant", "warmup_cosine"] = "constant",
                 warmup_steps: int = 0, final_lr_factor: float = 0.0, accumulate_grad_batches: int = 1) -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
        if lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule: expected one of {SCHEDULES}, got {lr_schedule!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        for name, value in (("warmup_steps", warmup_steps), ("accumulate_grad_batches", accumulate_grad_batches)):
            low = 0 if name == "warmup_steps" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
        m = optimizer_momentum
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m < 1:
            raise ValueError(f"optimizer_momentum: expected a number in [0, 1), got {m!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
            raise ValueError(f"lr: expected a finite learning rate > 0, got {lr!r}")
        source = as_source(source)
        if isinstance(source, nn.Module):
            self.source = source  # registered: its tensors move with the module
        else:
            self._source = source
        self.batch_size, self.lr, self.weight_decay, self.seed = batch_size, lr, weight_decay, seed
        self.optimizer_name = optimizer
        self.optimizer_momentum, self.lr_schedule = float(optimizer_momentum), lr_schedule
        self.warmup_steps, self.final_lr_factor = warmup_steps, final_lr_factor
        self.accumulate_grad_batches = accumulate_grad_batches

    # ------------------------------------------------------------------ where am I
    @property
    def data(self) -> BatchSource:
        return self.source if isinstance(getattr(self, "source", None), InMemorySource) else self._source

    @property
    def rank(self) -> int:
        """This process's rank: the trainer's when attached, else ``torch.distributed``'s (0 alone)."""
        return int(self.trainer.global_rank) if self._trainer is not None else ckdist.rank()

    @property
    def world_size(self) -> int:
        return int(self.trainer.world_size) if self._trainer is not None else ckdist.world_size()

    # ------------------------------------------------------------------ the step's data
    def step_rows(self, step: int) -> Tensor:
        """Row indices of this rank's share of the global batch of ``step``."""
        return batch_rows(step, len(self.data), self.batch_size, self.seed, self.rank, self.world_size)

    def reseed(self, step: int) -> None:
        """Seed the global RNG for ``step`` on this rank (resumed runs replay; ranks differ)."""
        torch.manual_seed(step_seed(self.seed, step, self.rank))

    def shared_seed(self, step: int) -> None:
        """Seed the global RNG identically on every rank (randomness over the gathered global batch)."""
        torch.manual_seed(step_seed(self.seed, step))

    def step_batch(self, step: int, batch: Any = None) -> dict[str, Tensor]:
        """The batch of ``step``: rows of the in-memory source (then :meth:`reseed`), or Lightning's batch."""
        data = self.data
        if not data.indexed:
            self.reseed(step)
            return batch
        rows = self.step_rows(step)
        self.reseed(step)
        return data.take(rows)

    def gather(self, x: Tensor, *, grad: bool = True) -> Tensor:
        """``x`` of every rank concatenated in rank order (autograd-correct); ``x`` itself on one process."""
        if self.world_size <= 1 or not ckdist.is_distributed():
            return x
        return ckdist.all_gather_with_grad(x) if grad else ckdist.all_gather_no_grad(x)

    # ------------------------------------------------------------------ the step
    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        """``{"loss": total, <term>: value, ...}`` of one batch; implemented by the subclass."""
        raise NotImplementedError

    def log_terms(self, terms: dict[str, Tensor], batch_size: int, **kwargs: Any) -> None:
        for name, value in terms.items():
            self.log(f"train_{name}", value, on_step=True, on_epoch=False, batch_size=batch_size, **kwargs)

    def micro_step(self, batch_idx: int) -> int:
        """Index of the micro-batch that feeds ``batch_idx``: ``global_step * a + batch_idx % a``
        (the global step itself without accumulation)."""
        a = self.accumulate_grad_batches
        return int(self.global_step) * a + (batch_idx % a if a > 1 else 0)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        step = int(self.global_step)
        self.current_micro_step = self.micro_step(batch_idx)
        data = self.step_batch(self.current_micro_step, batch)
        terms = self.loss_terms(data, step)
        first = next(iter(data.values())) if isinstance(data, dict) else data[0]
        self.log_terms(terms, len(first))
        return terms["loss"]

    # ------------------------------------------------------------------ optimizer
    def trainable_parameters(self) -> Iterable[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def build_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer named by ``optimizer`` over :meth:`trainable_parameters`."""
        params = list(self.trainable_parameters())
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.optimizer_momentum, weight_decay=self.weight_decay)
        if self.optimizer_name == "lars":
            wanted = {id(p) for p in params}
            named = [(n, p) for n, p in self.named_parameters() if id(p) in wanted]
            return LARS(lars_param_groups(named, self.weight_decay), lr=self.lr, momentum=self.optimizer_momentum)
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def configure_optimizers(self) -> Any:
        optimizer = self.build_optimizer()
        if self.lr_schedule == "constant":
            return optimizer
        total = int(self.trainer.max_steps) if self._trainer is not None else -1
        if total < 1:
            raise ValueError("lr_schedule: 'warmup_cosine' needs the trainer's max_steps (fit(..., max_steps=N))")
        warmup_cosine(0, total, self.warmup_steps, self.final_lr_factor)  # validates the settings once
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda t: warmup_cosine(t, total, self.warmup_steps, self.final_lr_factor))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


__all__ = ["OPTIMIZERS", "StepModule"]


class EncoderStepModule(StepModule):
    """A :class:`StepModule` whose :meth:`forward` is its ``encoder``: ``(B, ...) -> (B, D)`` representations,
    the features evaluated downstream (projection heads are training-only). The subclass sets ``self.encoder``."""

    encoder: nn.Module

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)
