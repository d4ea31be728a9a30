"""Step-function training through :func:`contrastkit.training.fit`: for the loops whose batches are drawn by
their own seeded generator (text top layers, generation models, full-batch graph objectives).

:func:`fit_steps` trains with a plain ``step(t) -> loss`` function and a given optimizer: Lightning runs the
loop (``zero_grad``, ``backward``, ``optimizer.step``, in that order; no gradient clipping, 32-bit), and no
global RNG draw is added, so a loop moved here gives bit-identical weights to the hand-written
``for t in range(steps): loss = step(t); opt.zero_grad(); loss.backward(); opt.step()`` it replaces.
Modules that pick their rows from ``(seed, step, rank, world size)`` use
:class:`~contrastkit.training.base.StepModule` instead; a bi-level loop with two optimizers uses
:func:`optimizer_step` for each of its updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from contrastkit.training.steps import StepTicks

StepFn = Callable[[int], Tensor]


class StepFunctionModule(L.LightningModule):
    """A LightningModule whose training step is ``step(global_step)`` (a scalar loss) with ``optimizer``.

    ``model`` is registered (it moves, and switches train / eval, with this module); ``after_backward()``
    runs after every backward pass, before the optimizer step (e.g. to mask gradient rows).
    """

    def __init__(self, model: nn.Module | None, step: StepFn, optimizer: torch.optim.Optimizer,
                 after_backward: Callable[[], None] | None = None) -> None:
        super().__init__()
        if not callable(step):
            raise TypeError(f"step: expected a function step(t) -> loss, got {type(step).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module or None, got {type(model).__name__}")
        self.model = model
        self._step, self._optimizer, self._after_backward = step, optimizer, after_backward

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        t = int(self.global_step)
        loss = self._step(t)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            got = f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(f"step: expected a scalar loss tensor, got {got}")
        # checked before the update: a NaN loss would otherwise silently turn every weight into NaN
        if not bool(torch.isfinite(loss.detach())):
            raise ValueError(f"step: the loss at step {t} is not finite ({float(loss)})")
        if not loss.requires_grad:
            raise ValueError(f"step: the loss at step {t} has no gradient (it does not depend on a trainable "
                             "parameter; was it computed under torch.no_grad() or from detached tensors?)")
        return loss

    def on_after_backward(self) -> None:
        # an optimizer whose parameters the loss does not reach would make every step a silent no-op
        params = [p for group in self._optimizer.param_groups for p in group["params"]]
        if not any(p.grad is not None for p in params):
            raise ValueError(f"optimizer: none of its parameters received a gradient at step {int(self.global_step)}"
                             " (the optimizer was built over parameters the loss does not depend on)")
        if self._after_backward is not None:
            self._after_backward()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self._optimizer


def fit_steps(model: nn.Module | None, step: StepFn, optimizer: torch.optim.Optimizer, steps: int, *,
              after_backward: Callable[[], None] | None = None) -> nn.Module | None:
    """Run ``steps`` optimizer steps of ``step(t) -> loss`` through :func:`~contrastkit.training.fit`
    (quiet CPU trainer); ``model`` is returned in eval mode.

    Raises:
        ValueError: ``steps`` is not an integer >= 1; ``step`` returns a non-scalar, a non-finite loss (raised
            before that update) or a loss without gradient; no parameter of ``optimizer`` received a gradient.
        TypeError: ``step`` is not callable, ``optimizer`` is not an optimizer, ``model`` is not a module.
    """
    from contrastkit.training.fit import fit

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected an integer >= 1, got {steps!r}")
    module = StepFunctionModule(model, step, optimizer, after_backward)
    # why a generator of its own: a loader draws its base seed from the global RNG otherwise, which would
    # shift the dropout masks of every step after it
    ticks = DataLoader(StepTicks(steps), batch_size=None, shuffle=False, generator=torch.Generator())
    fit(module, loader=ticks, max_steps=steps)
    return None if model is None else model.eval()


def optimizer_step(optimizer: Any, loss: Tensor, backward: Callable[[Tensor], None] | None = None) -> Tensor:
    """One update: ``zero_grad(set_to_none=True)``, ``backward(loss)`` (default ``loss.backward()``; a
    Lightning module with manual optimisation passes ``self.manual_backward``), ``optimizer.step()``;
    returns the detached loss. For loops that alternate optimizers (bi-level optimisation) and so cannot be
    one :func:`fit_steps` call."""
    optimizer.zero_grad(set_to_none=True)
    if backward is None:
        loss.backward()
    else:
        backward(loss)
    optimizer.step()
    return loss.detach()


__all__ = ["StepFunctionModule", "fit_steps", "optimizer_step"]
