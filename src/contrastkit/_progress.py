"""Progress of long-running commands, without tying the library to a display.

Library code calls :func:`announce` (``"linear probe"``, ``"fit 3: step 40/200"``); nothing happens unless a
caller installed a reporter with :func:`reporting` -- the CLI does, and shows the latest message with the
elapsed time. Every Lightning trainer built by :func:`contrastkit.training.make_trainer` while a reporter
is active gets a :class:`StepProgress` callback, so each training of a reproduction (seeds x arms) reports
its steps without the reproduction doing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Reporter = Callable[[str], None]
_REPORTER: ContextVar[Reporter | None] = ContextVar("contrastkit_progress", default=None)
_FITS: ContextVar[list[int] | None] = ContextVar("contrastkit_progress_fits", default=None)


def announce(message: str) -> None:
    """Report ``message`` to the active reporter (a no-op without one)."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(message)


def active() -> bool:
    """Whether a reporter is installed."""
    return _REPORTER.get() is not None


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Send :func:`announce` messages to ``reporter`` inside the ``with`` block (and count trainings)."""
    if not callable(reporter):
        raise TypeError(f"reporter: expected a callable str -> None, got {type(reporter).__name__}")
    token, fits = _REPORTER.set(reporter), _FITS.set([0])
    try:
        yield
    finally:
        _REPORTER.reset(token)
        _FITS.reset(fits)


def step_callback() -> Any:
    """A Lightning callback announcing ``fit k: step s/N`` about 20 times per training (``None`` when no
    reporter is active)."""
    if not active():
        return None
    from lightning.pytorch.callbacks import Callback

    class StepProgress(Callback):
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            fits = _FITS.get()
            if fits is not None:
                fits[0] += 1
            self.index = fits[0] if fits is not None else 1
            self.total = int(trainer.max_steps) if trainer.max_steps and trainer.max_steps > 0 else None
            self.every = max(1, (self.total or 20) // 20)
            announce(f"fit {self.index}: step 0/{self.total or '?'}")

        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            step = int(trainer.global_step)
            if step % self.every == 0 or step == self.total:
                announce(f"fit {self.index}: step {step}/{self.total or '?'}")

    return StepProgress()


__all__ = ["Reporter", "active", "announce", "reporting", "step_callback"]
