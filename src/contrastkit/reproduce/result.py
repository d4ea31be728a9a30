"""Result objects of a paper reproduction: measured metrics and the claims checked on them."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Claim:
    """One claim of a paper, checked on measured numbers (``passed``) with the evidence."""

    name: str
    passed: bool
    detail: str
    gating: bool = True  # a non-gating claim is reported but does not fail the reproduction


@dataclass
class ReproResult:
    name: str
    claims: list[Claim] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    quick: bool = False

    def passed(self) -> bool:
        return all(c.passed for c in self.claims if c.gating)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"passed": self.passed()}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=float))

    def summary(self) -> str:
        lines = [f"{self.name}{' (quick)' if self.quick else ''}: "
                 f"{'PASSED' if self.passed() else 'FAILED'}"]
        for c in self.claims:
            flag = "ok " if c.passed else "NO "
            lines.append(f"  [{flag}] {c.name}{'' if c.gating else ' (not gating)'}: {c.detail}")
        return "\n".join(lines)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        raise ValueError("values: expected at least one measurement")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    m, s = mean_std([v * scale for v in values])
    return f"{m:.{digits}f} ± {s:.{digits}f}"
