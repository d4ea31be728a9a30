"""SepCLR reproduction: the pixel encoder, the precondition logic with fabricated per-seed numbers, and
the quick (smoke) run."""

from __future__ import annotations

import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.sepclr import reproduce as sc

J = [0.004, -0.006, 0.003, 0.0, -0.002, 0.005, 0.001, -0.003, 0.002, -0.004]


def _rows(salient: float, leak_sepclr: float, leak_nojem: float) -> dict[str, dict[str, list[float]]]:
    return {"untrained": {"digit_on_s": [0.80 + d for d in J]},
            "sepclr": {"digit_on_s": [salient + d for d in J[::-1]], "digit_on_c": [leak_sepclr + d for d in J]},
            "no_jem": {"digit_on_s": [salient + d for d in J], "digit_on_c": [leak_nojem + d for d in J[::-1]]}}


def test_pixel_mlp_shape() -> None:
    assert sc.pixel_mlp(256, 32, 8)(torch.rand(5, 1, 16, 16)).shape == (5, 8)


def test_no_salient_information_gives_not_testable() -> None:
    cfg = load_recipe(sc.RECIPE)
    # the old miniature: the salient space stays at the untrained level -> not testable, not "failed"
    r = sc.decide(cfg, _rows(salient=0.80, leak_sepclr=0.30, leak_nojem=0.28), pixel_digit=0.96, quick=False)
    assert r.outcome() == "not testable" and "PASSED" not in r.summary()
    # nothing in the pixels to learn
    assert sc.decide(cfg, _rows(0.9, 0.5, 0.7), pixel_digit=0.5, quick=False).outcome() == "not testable"
    # nothing that could leak (the ablation's common space is at chance)
    assert sc.decide(cfg, _rows(0.9, 0.10, 0.12), pixel_digit=0.96, quick=False).outcome() == "not testable"


def test_pass_and_fail_when_preconditions_hold() -> None:
    cfg = load_recipe(sc.RECIPE)
    assert sc.decide(cfg, _rows(0.9, 0.70, 0.85), pixel_digit=0.96, quick=False).outcome() == "pass"
    assert sc.decide(cfg, _rows(0.9, 0.86, 0.85), pixel_digit=0.96, quick=False).outcome() == "fail"


def test_quick_run_is_a_smoke_run() -> None:
    r = sc.reproduce(quick=True)
    assert r.outcome() == "smoke" and "smoke run: claims not evaluated" in r.summary()
    assert set(r.metrics["probes"]) == {"untrained", "sepclr", "no_jem"}
