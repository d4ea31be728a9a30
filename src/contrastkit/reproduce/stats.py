"""Statistics of a reproduction's comparisons: paired per-seed tests, confidence intervals and power.

A reproduction compares two arms (the paper's method and its baseline) trained on the same seeds. The
per-seed differences ``d_s = method_s - baseline_s`` are the unit of evidence (paired design: the seed's
data order, initialisation and split are shared by both arms, so their common noise cancels).

* :func:`paired_comparison` — mean difference, its two-sided ``1 - alpha`` Student-t confidence interval,
  the one-sided p-value of ``H0: mean(d) <= margin`` and the minimum detectable effect (MDE) of the design.
* :func:`minimum_detectable_effect` — the smallest true mean difference the design detects with the given
  power (one-sided paired t-test, exact through the non-central t distribution; Cohen 1988, ch. 2).
* :func:`proportion_mde` — the accuracy difference a test set of ``n`` samples can resolve at all
  (two-proportion z-test), to state when a test set is too small for the claimed effect.

A claim is *powered* when its MDE is no larger than the effect the claim is about (the paper's effect or
the stated margin); an unpowered comparison is reported, never called a failure of the method.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats as _scipy_stats
from scipy.optimize import brentq


@dataclass(frozen=True)
class PairedTest:
    """Outcome of a paired per-seed comparison of ``method`` against ``baseline`` (higher is better).

    ``effect`` is ``mean(method - baseline)``; ``ci`` its two-sided ``1 - alpha`` t-interval; ``p_value``
    the one-sided p-value of ``H0: effect <= margin``; ``mde`` the minimum detectable effect at ``power``
    (``inf`` with fewer than two seeds or zero spread and no way to estimate it); ``holds`` is
    ``p_value < alpha`` (the effect exceeds the margin with confidence ``1 - alpha``) — or, for a
    non-inferiority claim (``margin < 0``), the same test against the negative margin.
    """

    effect: float
    ci: tuple[float, float]
    p_value: float
    mde: float
    n: int
    margin: float
    alpha: float
    power: float
    test: str
    holds: bool
    differences: tuple[float, ...]

    def describe(self, scale: float = 1.0, unit: str = "") -> str:
        """One line: effect, interval, p-value and MDE, values multiplied by ``scale``."""
        lo, hi = self.ci
        return (f"effect {self.effect * scale:+.3g}{unit} (CI{100 * (1 - self.alpha):.0f} "
                f"[{lo * scale:+.3g}, {hi * scale:+.3g}]{unit}), margin {self.margin * scale:+.3g}{unit}, "
                f"p = {self.p_value:.3g} ({self.test}, n = {self.n}), MDE {self.mde * scale:.3g}{unit}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_pair(method: Sequence[float], baseline: Sequence[float]) -> list[float]:
    if len(method) != len(baseline):
        raise ValueError(f"baseline: expected one value per seed of method ({len(method)}), got {len(baseline)}")
    if len(method) == 0:
        raise ValueError("method: expected at least one per-seed value")
    diffs = [float(m) - float(b) for m, b in zip(method, baseline, strict=True)]
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError("method: per-seed values must be finite")
    return diffs


def minimum_detectable_effect(sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean paired difference a one-sided t-test on ``n`` pairs detects with ``power``.

    Exact: solves ``P(T'_{n-1, delta sqrt(n) / sd} > t_{1-alpha, n-1}) = power`` for ``delta`` with the
    non-central t distribution ``T'``. ``sd`` is the standard deviation of the per-seed differences.
    Returns ``inf`` for ``n < 2`` and ``0`` for ``sd = 0``.

    Raises:
        ValueError: ``alpha`` or ``power`` outside (0, 1), ``sd`` negative or not finite.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a value in (0, 1), got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power: expected a value in (0, 1), got {power}")
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"sd: expected a finite value >= 0, got {sd}")
    if n < 2:
        return math.inf
    if sd == 0:
        return 0.0
    df = n - 1
    critical = _scipy_stats.t.ppf(1 - alpha, df)

    def shortfall(noncentrality: float) -> float:
        return float(_scipy_stats.nct.sf(critical, df, noncentrality)) - power

    upper = 1.0
    while shortfall(upper) < 0:
        upper *= 2
    noncentrality = brentq(shortfall, 0.0, upper, xtol=1e-10)
    return float(noncentrality * sd / math.sqrt(n))


def paired_comparison(method: Sequence[float], baseline: Sequence[float], *, margin: float = 0.0,
                      alpha: float = 0.05, power: float = 0.8, sd_floor: float = 0.0) -> PairedTest:
    """Paired one-sided t-test of ``mean(method - baseline) > margin`` over seeds.

    Args:
        method, baseline: per-seed values of the two arms, same length and seed order (higher is better;
            negate error metrics before calling).
        margin: the effect to exceed; ``0`` for "method beats baseline", a negative value for a
            non-inferiority claim ("method is at most ``-margin`` worse").
        alpha: one-sided significance level of the test; the reported ``ci`` is the two-sided
            ``1 - alpha`` t-interval of the mean difference.
        power: power at which the MDE is stated.
        sd_floor: a lower bound on the per-seed difference spread used for the MDE (e.g. the test set's
            sampling noise from :func:`proportion_mde`), so three identical seeds do not claim infinite power.

    Raises:
        ValueError: on different lengths, no values, non-finite values, alpha/power outside (0, 1).
    """
    diffs = _check_pair(method, baseline)
    n = len(diffs)
    mean = statistics.fmean(diffs)
    sd = statistics.stdev(diffs) if n > 1 else math.nan
    if n < 2:
        return PairedTest(mean, (-math.inf, math.inf), 1.0, math.inf, n, margin, alpha, power,
                          "none (one seed)", False, tuple(diffs))
    sd_eff = max(sd, sd_floor)
    mde = minimum_detectable_effect(sd_eff, n, alpha=alpha, power=power)
    df = n - 1
    if sd_eff == 0.0:
        p = 0.0 if mean > margin else 1.0
        ci = (mean, mean)
    else:
        se = sd_eff / math.sqrt(n)
        t = (mean - margin) / se
        p = float(_scipy_stats.t.sf(t, df))
        half = float(_scipy_stats.t.ppf(1 - alpha / 2, df)) * se
        ci = (mean - half, mean + half)
    return PairedTest(mean, ci, p, mde, n, margin, alpha, power, "paired one-sided t-test", p < alpha,
                      tuple(diffs))


def proportion_mde(n: int, p: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Accuracy difference a test set of ``n`` samples at accuracy ``p`` resolves (two-proportion z-test).

    ``MDE = (z_{1-alpha} + z_{power}) * sqrt(2 p (1 - p) / n)``: differences below it are within the test
    set's sampling noise whatever the number of seeds.
    """
    if n < 1:
        raise ValueError(f"n: expected at least one test sample, got {n}")
    if not 0 <= p <= 1:
        raise ValueError(f"p: expected an accuracy in [0, 1], got {p}")
    z = _scipy_stats.norm.ppf(1 - alpha) + _scipy_stats.norm.ppf(power)
    return float(z * math.sqrt(2 * p * (1 - p) / n))


def sign_count(method: Sequence[float], baseline: Sequence[float]) -> tuple[int, int]:
    """``(wins, n)``: seeds where ``method > baseline``; reported next to the t-test for few seeds."""
    diffs = _check_pair(method, baseline)
    return sum(d > 0 for d in diffs), len(diffs)
