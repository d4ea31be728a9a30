"""Statistics of reproductions: the paired test against scipy, the MDE against simulation, outcomes."""

import math

import numpy as np
import pytest
from scipy import stats

from contrastkit.reproduce.result import Claim, ReproResult
from contrastkit.reproduce.stats import minimum_detectable_effect, paired_comparison, proportion_mde, sign_count


def test_paired_comparison_matches_scipy_ttest_rel():
    method, baseline = [0.81, 0.79, 0.84, 0.80, 0.83], [0.78, 0.78, 0.80, 0.79, 0.80]
    test = paired_comparison(method, baseline)
    ref = stats.ttest_rel(method, baseline, alternative="greater")
    assert test.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert test.effect == pytest.approx(np.mean(np.subtract(method, baseline)))
    ci = stats.ttest_rel(method, baseline).confidence_interval(0.95)
    assert test.ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert test.holds == (ref.pvalue < 0.05)


def test_margin_shifts_the_null():
    method, baseline = [0.80, 0.81, 0.79], [0.80, 0.80, 0.80]
    shifted = paired_comparison(method, baseline, margin=-0.01)
    ref = stats.ttest_1samp(np.subtract(method, baseline) + 0.01, 0.0, alternative="greater")
    assert shifted.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_mde_has_the_stated_power_by_simulation():
    rng = np.random.default_rng(0)
    n, sd = 5, 1.0
    mde = minimum_detectable_effect(sd, n)
    diffs = rng.normal(mde, sd, size=(40_000, n))
    t = diffs.mean(1) / (diffs.std(1, ddof=1) / math.sqrt(n))
    detected = (t > stats.t.ppf(0.95, n - 1)).mean()
    assert detected == pytest.approx(0.8, abs=0.01)
    assert minimum_detectable_effect(sd, 20) < mde  # more seeds resolve smaller effects


def test_mde_edge_cases_and_bad_input():
    assert minimum_detectable_effect(1.0, 1) == math.inf
    assert minimum_detectable_effect(0.0, 3) == 0.0
    with pytest.raises(ValueError, match="alpha"):
        minimum_detectable_effect(1.0, 3, alpha=1.5)
    with pytest.raises(ValueError, match="sd"):
        minimum_detectable_effect(float("nan"), 3)
    with pytest.raises(ValueError, match="baseline"):
        paired_comparison([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_comparison([1.0, float("nan")], [1.0, 1.0])


def test_one_seed_never_holds():
    test = paired_comparison([0.9], [0.1])
    assert not test.holds and test.mde == math.inf


def test_proportion_mde_and_sign_count():
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.8)
    assert proportion_mde(288, 0.9) == pytest.approx(z * math.sqrt(2 * 0.9 * 0.1 / 288))
    assert sign_count([1, 2, 3], [0, 3, 1]) == (2, 3)
    with pytest.raises(ValueError, match="n"):
        proportion_mde(0, 0.5)


def _claim(passed, gating=True, precondition=False):
    return Claim("c", passed, "d", gating=gating, precondition=precondition)


@pytest.mark.parametrize(("claims", "quick", "outcome"), [
    ([_claim(True), _claim(True)], False, "pass"),
    ([_claim(True), _claim(False)], False, "fail"),
    ([_claim(False, precondition=True), _claim(True)], False, "not testable"),
    ([_claim(True, precondition=True), _claim(False)], False, "fail"),
    ([_claim(False, gating=False), _claim(True)], False, "pass"),
    ([_claim(False, gating=False)], True, "smoke"),
    ([_claim(True, precondition=True), _claim(False, gating=False)], True, "smoke"),
])
def test_outcomes(claims, quick, outcome):
    result = ReproResult("x", claims, quick=quick)
    assert result.outcome() == outcome
    assert result.passed() == (outcome != "fail")
    assert result.to_dict()["outcome"] == outcome


def test_summary_never_prints_passed_above_a_failed_gating_claim():
    assert ReproResult("x", [_claim(True), _claim(False)]).summary().startswith("x: FAILED")
    smoke = ReproResult("x", [_claim(False, gating=False)], quick=True).summary()
    assert "smoke run: claims not evaluated" in smoke and "PASSED" not in smoke and "[NO ]" not in smoke
    untestable = ReproResult("x", [_claim(False, precondition=True)]).summary()
    assert "NOT TESTABLE" in untestable and "precondition" in untestable


def test_claim_from_test_records_statistics():
    test = paired_comparison([0.9, 0.92, 0.91], [0.8, 0.81, 0.80])
    claim = Claim.from_test("better", test, scale=100, unit=" pts")
    assert claim.passed and "MDE" in claim.detail and claim.test is test
    assert ReproResult("x", [claim]).to_dict()["claims"][0]["test"]["p_value"] == pytest.approx(test.p_value)


def test_a_precondition_guarding_one_claim_leaves_the_others_decisive():
    refuted = Claim("beats L1", False, "d")
    untestable = Claim("beats SupCon", False, "d")
    power = Claim("power for SupCon", False, "d", precondition=True, guards="beats SupCon")
    assert ReproResult("x", [power, untestable, refuted]).outcome() == "fail"
    assert ReproResult("x", [power, untestable, Claim("beats L1", True, "d")]).outcome() == "not testable"
    ok_power = Claim("power for SupCon", True, "d", precondition=True, guards="beats SupCon")
    assert ReproResult("x", [ok_power, Claim("beats SupCon", True, "d")]).outcome() == "pass"
    with pytest.raises(ValueError, match="guard claims that do not exist"):
        ReproResult("x", [Claim("p", True, "d", precondition=True, guards="nope"), _claim(True)]).outcome()
