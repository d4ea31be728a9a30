"""Result objects of a paper reproduction: preconditions, claims and the outcome they imply.

A reproduction first checks its **preconditions** — that the miniature *can* show the claim (the baseline
learns, the signal the method exploits is present, the design has the power to see the paper's effect).
Only then are its **claims** evaluated. The outcome is one of:

* ``pass`` — every gating precondition and every gating claim holds;
* ``fail`` — the preconditions hold but a gating claim does not (the method did not show its claim);
* ``not testable`` — a gating precondition failed: the miniature could not have shown the claim, so no
  verdict on the method is given (the reason is the failed precondition's detail);
* ``smoke`` — a quick run: too small to evaluate the claims, so they are printed as measured, never as
  PASSED or FAILED (a quick run that has the power for a claim marks it ``gating`` itself).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from contrastkit.reproduce.stats import PairedTest

Outcome = Literal["pass", "fail", "not testable", "smoke"]
OUTCOMES: tuple[str, ...] = ("pass", "fail", "not testable", "smoke")


@dataclass
class Claim:
    """One claim (or precondition) of a paper, checked on measured numbers, with the evidence.

    Attributes:
        name: what is claimed, in words.
        passed: whether it holds on the measurements.
        detail: the numbers behind the verdict.
        gating: a non-gating claim is reported but does not decide the outcome.
        precondition: ``True`` for a check that the miniature can show the claims at all; a failed gating
            precondition makes the outcome ``not testable``.
        test: the comparison's statistics (effect, confidence interval, p-value, MDE), if it is one.
        guards: for a precondition, the name of the one claim it guards (e.g. the power of that claim's
            comparison); ``None`` guards every claim (e.g. "the baseline learns").
    """

    name: str
    passed: bool
    detail: str
    gating: bool = True
    precondition: bool = False
    test: PairedTest | None = None
    guards: str | None = None

    @classmethod
    def from_test(cls, name: str, test: PairedTest, *, scale: float = 1.0, unit: str = "", gating: bool = True,
                  precondition: bool = False, note: str = "", guards: str | None = None) -> Claim:
        """A claim decided by a paired comparison (holds when its p-value is below alpha)."""
        detail = test.describe(scale, unit) + (f"; {note}" if note else "")
        return cls(name, test.holds, detail, gating=gating, precondition=precondition, test=test, guards=guards)


@dataclass
class ReproResult:
    name: str
    claims: list[Claim] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    quick: bool = False

    @property
    def preconditions(self) -> list[Claim]:
        return [c for c in self.claims if c.precondition]

    def outcome(self) -> Outcome:
        """``pass`` / ``fail`` / ``not testable`` / ``smoke`` from the gating checks (see the module doc).

        A failed precondition that guards every claim makes the run ``not testable``. One that guards a single
        claim (``guards=``) leaves only that claim untestable: any other testable claim that fails still makes
        the outcome ``fail``, and the outcome is ``pass`` only when every claim was testable and holds.
        """
        gating = [c for c in self.claims if c.gating]
        claims = [c for c in gating if not c.precondition]
        if self.quick and not claims:
            return "smoke"
        preconditions = [c for c in gating if c.precondition]
        if any(not c.passed for c in preconditions if c.guards is None):
            return "not testable"
        untestable = {c.guards for c in preconditions if c.guards is not None and not c.passed}
        unknown = {c.guards for c in preconditions if c.guards is not None} - {c.name for c in claims}
        if unknown:
            raise ValueError(f"claims: preconditions guard claims that do not exist: {sorted(unknown)}")
        if any(not c.passed for c in claims if c.name not in untestable):
            return "fail"
        if any(c.name in untestable for c in claims):
            return "not testable"
        return "pass"

    def passed(self) -> bool:
        """``True`` unless the outcome is ``fail`` (a smoke run or an untestable miniature is not a failure)."""
        return self.outcome() != "fail"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"passed": self.passed(), "outcome": self.outcome()}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=float))

    def summary(self) -> str:
        outcome = self.outcome()
        header = {
            "pass": "PASSED",
            "fail": "FAILED",
            "not testable": "NOT TESTABLE (a precondition failed: the miniature cannot show the claim)",
            "smoke": "smoke run: claims not evaluated",
        }[outcome]
        lines = [f"{self.name}{' (quick)' if self.quick else ''}: {header}"]
        for c in self.claims:
            if not c.gating:
                flag = "   " if outcome == "smoke" else ("ok " if c.passed else "NO ")
                suffix = " (measured only)" if outcome == "smoke" else " (not gating)"
            else:
                flag, suffix = ("ok " if c.passed else "NO "), ""
            kind = "precondition: " if c.precondition else ""
            lines.append(f"  [{flag}] {kind}{c.name}{suffix}: {c.detail}")
        return "\n".join(lines)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        raise ValueError("values: expected at least one measurement")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    m, s = mean_std([v * scale for v in values])
    return f"{m:.{digits}f} ± {s:.{digits}f}"
