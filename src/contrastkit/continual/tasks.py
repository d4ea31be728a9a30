"""Class-incremental task plans: the classes are split into an ordered sequence of disjoint tasks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskPlan:
    """An ordered sequence of disjoint class sets, ``tasks[t]`` the classes introduced by task ``t``."""

    tasks: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for t, classes in enumerate(self.tasks):
            if not classes:
                raise ValueError(f"tasks: task {t} has no classes")
            overlap = seen.intersection(classes)
            if overlap:
                raise ValueError(f"tasks: classes {sorted(overlap)} appear in more than one task")
            seen.update(classes)

    @classmethod
    def split(cls, classes: Sequence[str], per_task: int, *, first: int | None = None,
              seed: int | None = None) -> TaskPlan:
        """``classes`` (shuffled with ``seed`` when given) cut into tasks of ``per_task`` classes; the first task
        may be larger (``first``; FSC's protocol starts with 4 intents, then 3 per task)."""
        names = list(classes)
        if len(set(names)) != len(names) or not names:
            raise ValueError("classes: expected distinct class names")
        first = per_task if first is None else first
        for name, value in (("per_task", per_task), ("first", first)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if seed is not None:
            random.Random(seed).shuffle(names)
        tasks = [tuple(names[:first])]
        tasks += [tuple(names[i:i + per_task]) for i in range(first, len(names), per_task)]
        return cls(tuple(tasks))

    @property
    def classes(self) -> tuple[str, ...]:
        """Every class, in task order (the index of a class is its label)."""
        return tuple(c for task in self.tasks for c in task)

    def label(self, name: str) -> int:
        """The integer label of class ``name``; ``ValueError`` for a class absent from the plan."""
        try:
            return self.classes.index(name)
        except ValueError:
            raise ValueError(f"intent: {name!r} is not in the task plan {list(self.classes)}") from None

    def seen(self, task: int) -> tuple[str, ...]:
        """Classes of tasks ``0..task``."""
        return tuple(c for t in self.tasks[: task + 1] for c in t)

    def task_of(self, name: str) -> int:
        for t, classes in enumerate(self.tasks):
            if name in classes:
                return t
        raise ValueError(f"intent: {name!r} is not in the task plan {list(self.classes)}")


__all__ = ["TaskPlan"]
