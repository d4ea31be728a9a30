"""Preconditions and paired claims of the vision / time-series reproductions (pure logic, fast).

Each precondition is exercised with a fake that fails it (outcome ``not testable``) and one that holds;
numbers are checked against independent references (numpy, scikit-learn, hand values).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from contrastkit.reproduce.result import ReproResult
from contrastkit.reproduce.stats import minimum_detectable_effect


# ------------------------------------------------------------------------------------------ DBPM
def _dbpm_settings(rate: float) -> dict:
    return {"planted": {"fraction": rate}, "precision_factor": 3.0, "alpha": 0.05, "auroc_min": 0.8,
            "beta_np": 2.0, "beta_fp": 3.0}


def test_z_ceiling_hand_values_and_two_point_distribution():
    from contrastkit.papers.dbpm.reproduce import z_ceiling

    assert z_ceiling(0.1) == pytest.approx(3.0)
    assert z_ceiling(0.04) == pytest.approx(math.sqrt(24))
    values = np.r_[np.full(8, 5.0), np.full(192, 1.0)]  # 4 % planted at one value, the rest at another
    assert (values[0] - values.mean()) / values.std() == pytest.approx(z_ceiling(0.04))
    spread = np.r_[np.full(8, 5.0), np.random.default_rng(0).normal(1.0, 0.3, 192)]
    assert (spread[0] - spread.mean()) / spread.std() < z_ceiling(0.04)
    with pytest.raises(ValueError, match="rate"):
        z_ceiling(0.0)


def test_auroc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from contrastkit.papers.dbpm.reproduce import auroc

    g = torch.Generator().manual_seed(0)
    scores = torch.randn(50, generator=g, dtype=torch.float64)
    scores[:5] = scores[5:10]  # ties
    positive = torch.zeros(50, dtype=torch.bool)
    positive[::7] = True
    assert auroc(scores, positive) == pytest.approx(roc_auc_score(positive.numpy(), scores.numpy()))


def test_binomial_p_hand_value():
    from contrastkit.papers.dbpm.reproduce import binomial_p

    assert binomial_p(8, 8, 0.04) == pytest.approx(0.04 ** 8)
    assert binomial_p(0, 0, 0.04) == 1.0


@pytest.mark.parametrize(("rate", "signal", "hits", "flagged", "outcome"), [
    (0.1, 0.99, 8, 8, "not testable"),   # the old design: ceiling 3.0 = beta_fp, faulty pairs unflaggable
    (0.04, 0.55, 8, 8, "not testable"),  # no loss signal from the planted corruption
    (0.04, 0.95, 0, 0, "fail"),          # signal present, nothing flagged: the method did not show its claim
    (0.04, 0.95, 1, 10, "fail"),         # precision 10 % < 3 x 4 %
    (0.04, 0.95, 7, 8, "pass"),
])
def test_dbpm_outcomes(rate, signal, hits, flagged, outcome):
    from contrastkit.papers.dbpm.reproduce import detection_claims

    claims = detection_claims(_dbpm_settings(rate), 3, {"noisy": [signal] * 3, "faulty": [signal] * 3},
                              {"noisy": hits, "faulty": hits}, {"noisy": flagged, "faulty": flagged}, 8)
    assert ReproResult("dbpm", claims).outcome() == outcome


# ------------------------------------------------------------------------------------------ COMET
def test_patient_folds_cover_every_patient_once_stratified():
    from contrastkit.papers.comet.reproduce import patient_folds

    patient = torch.arange(40).repeat_interleave(8)
    label = (torch.arange(40) % 4).repeat_interleave(8)
    folds = patient_folds(patient, label, 5, seed=3)
    assert len(folds) == 5
    assert torch.cat(folds).sort().values.tolist() == list(range(40))
    for f in folds:
        counts = torch.bincount(torch.arange(40)[f] % 4, minlength=4)
        assert int(counts.max() - counts.min()) <= 1
    with pytest.raises(ValueError, match="folds"):
        patient_folds(patient, label, 1, seed=0)


def test_comet_power_precondition_fails_for_40_patients_and_holds_for_many():
    from contrastkit.papers.comet.reproduce import power_preconditions

    s = {"planning_accuracy": 0.875, "margin": 0.02, "alpha": 0.05}
    assert not power_preconditions(40, 320, s)[0].passed
    assert power_preconditions(100_000, 800_000, s)[0].passed
    # two-proportion MDE by hand: (z_.95 + z_.8) sqrt(2 p (1 - p) / n)
    assert "MDE 18.4 points" in power_preconditions(40, 320, s)[0].detail


def test_comet_full_run_is_not_testable_without_training(monkeypatch):
    import contrastkit.methods.comet as methods
    from contrastkit.papers.comet import reproduce as comet

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the design cannot resolve the claim")

    monkeypatch.setattr(methods, "COMET", no_training)
    result = comet.reproduce(quick=False)
    assert result.outcome() == "not testable"
    assert result.summary().splitlines()[0].startswith("comet: NOT TESTABLE")


# ------------------------------------------------------------------------------------------ AutoTCL
def test_autotcl_seeds_needed_is_the_smallest_powered_design():
    from contrastkit.papers.autotcl.reproduce import seeds_needed

    need = seeds_needed(0.05, 4, 0.012, 0.05)
    assert minimum_detectable_effect(0.05, 4 * need) <= 0.012 < minimum_detectable_effect(0.05, 4 * (need - 1))


def test_autotcl_full_run_is_not_testable_without_training(monkeypatch):
    import contrastkit.methods.autotcl as methods
    from contrastkit.papers.autotcl import reproduce as autotcl

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the design cannot see the paper's effect")

    monkeypatch.setattr(methods, "AutoTCL", no_training)
    result = autotcl.reproduce(quick=False)
    assert result.outcome() == "not testable"
    assert "seeds would be needed" in result.claims[0].detail


# ------------------------------------------------------------------------------------------ CACR
def _cacr_acc(random: float, lt_gap: float) -> dict[str, list[float]]:
    base = [0.95, 0.94, 0.96, 0.95, 0.955]
    return {"random": [random] * 5, "ntxent_longtail": base, "cacr_longtail": [b + lt_gap + 0.002 * i
                                                                              for i, b in enumerate(base)],
            "ntxent_balanced": base, "cacr_balanced": [b + 0.003 * (i % 2) for i, b in enumerate(base)]}


@pytest.mark.parametrize(("random", "gap", "outcome"), [(0.97, 0.01, "not testable"), (0.88, 0.01, "pass"),
                                                        (0.88, -0.01, "fail")])
def test_cacr_outcomes(random, gap, outcome):
    from contrastkit.papers.cacr.reproduce import claims_from

    settings = {"alpha": 0.05, "balanced_margin": 0.01, "longtail_margin": 0.0}
    assert ReproResult("cacr", claims_from(_cacr_acc(random, gap), settings, quick=False)).outcome() == outcome
    assert ReproResult("cacr", claims_from(_cacr_acc(random, gap), settings, quick=True), quick=True).outcome() \
        == "smoke"


# ------------------------------------------------------------------------------------------ DCL
def test_dcl_outcomes():
    from contrastkit.papers.dcl.reproduce import dcl_claims

    m = {"infonce_batch32_linear_probe": [0.95, 0.94, 0.96], "dcl_batch32_linear_probe": [0.97, 0.96, 0.96],
         "infonce_batch256_linear_probe": [0.95, 0.93, 0.96], "dcl_batch256_linear_probe": [0.96, 0.96, 0.95],
         "random_linear_probe": [0.88, 0.88, 0.89], "q_16": [0.13, 0.12, 0.14], "q_256": [0.56, 0.54, 0.57],
         "dcl_16": [1.0] * 3, "dcl_256": [1.0] * 3}
    assert ReproResult("dcl", dcl_claims(m, 0.05, False)).outcome() == "pass"
    assert ReproResult("dcl", dcl_claims(m | {"dcl_16": [1.0, 1.01, 1.0]}, 0.05, False)).outcome() == "fail"
    assert ReproResult("dcl", dcl_claims(m | {"random_linear_probe": [0.99] * 3}, 0.05, False)).outcome() \
        == "not testable"


def test_dcl_coupling_sizes_come_from_the_recipe():
    """The coupling probe's batch sizes and view seed are recipe values; the stored keys and claim names follow
    them (the shipped recipe: 16 / 256, seed 0, as the stored results)."""
    from contrastkit.papers._recipe_file import read_paper_yaml
    from contrastkit.papers.dcl import reproduce as dcl

    settings = read_paper_yaml(Path(dcl.__file__).parent, "dcl")
    assert settings["coupling_batch_sizes"] == [16, 256] and settings["coupling_view_seed"] == 0
    m = {"infonce_batch32_linear_probe": [0.95, 0.94, 0.96], "dcl_batch32_linear_probe": [0.97, 0.96, 0.96],
         "infonce_batch256_linear_probe": [0.95, 0.93, 0.96], "dcl_batch256_linear_probe": [0.96, 0.96, 0.95],
         "random_linear_probe": [0.88, 0.88, 0.89], "q_8": [0.13, 0.12, 0.14], "q_64": [0.56, 0.54, 0.57],
         "dcl_8": [1.0] * 3, "dcl_64": [1.0] * 3}
    names = [c.name for c in dcl.dcl_claims(m, 0.05, False)]
    assert "NT-Xent coupling q = 1 - p_pos is larger at batch 64 than at batch 8" in names
    with pytest.raises(ValueError, match="m: expected two q_<batch size> keys"):
        dcl.dcl_claims({k: v for k, v in m.items() if k != "q_64"}, 0.05, False)


# ------------------------------------------------------------------------------------------ temperature
def test_log_slope_matches_numpy_polyfit():
    from contrastkit.papers.temperature.reproduce import log_slope

    taus, values = [0.1, 0.2, 0.5, 1.0], [-3.5, -3.4, -3.2, -2.7]
    assert log_slope(taus, values) == pytest.approx(np.polyfit(np.log(taus), values, 1)[0])


def test_temperature_quick_marks_the_wrong_direction():
    from contrastkit.papers.temperature.reproduce import temperature_claims

    wrong = {0.1: {"uniformity": [-2.7], "tolerance": [0.7]}, 1.0: {"uniformity": [-3.5], "tolerance": [0.2]}}
    claims = temperature_claims(wrong, (0.1, 1.0), 0.05, quick=True)
    assert [c.passed for c in claims] == [False, False]
    result = ReproResult("temperature", claims, quick=True)
    assert result.outcome() == "smoke" and "PASSED" not in result.summary()


# ------------------------------------------------------------------------------------------ forecasting
def _forecast(ts2vec: list[float], raw: float, last: float) -> dict:
    return {"ts2vec": {"1": {"mse": ts2vec}}, "raw": {"1": {"mse": [raw]}}, "last_value": {"1": {"mse": [last]}}}


@pytest.mark.parametrize(("ts2vec", "raw", "last", "outcome"), [
    ([0.05, 0.06, 0.04], 0.2, 0.1, "not testable"),  # not even raw ridge beats the last value
    ([0.05, 0.06, 0.04], 0.01, 0.1, "pass"),
    ([0.05, 0.16, 0.04], 0.01, 0.1, "fail"),          # mean below the baseline but not significantly
])
def test_forecasting_outcomes(ts2vec, raw, last, outcome):
    from contrastkit.papers.forecasting.reproduce import forecasting_claims

    claims = forecasting_claims(_forecast(ts2vec, raw, last), [1], 0.05, quick=False, raw_gating=False)
    assert ReproResult("forecasting", claims).outcome() == outcome
