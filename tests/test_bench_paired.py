"""The paired benchmark: rotated rounds, per-round ratios, and the report judging targets on them."""

from __future__ import annotations

import pytest

from benchmarks.paired import measure_case, quartiles, rotation, summarise
from benchmarks.speed_report import markdown, paired_ratio


def test_rotation_lets_every_name_lead_once_per_cycle() -> None:
    names = ["a", "b", "c"]
    orders = [rotation(names, r) for r in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert rotation(names, 4) == orders[1]


def test_ratios_are_taken_within_a_round() -> None:
    # Rounds 2 and 3 ran under load (both slower): per round the implementation costs 3x, 1.5x,
    # 1.5x the floor, median 1.5x; the ratio of the minimum times (3.0 / 1.0) would mix rounds.
    times = {"floor": [1.0, 2.0, 2.0], "impl": [3.0, 3.0, 3.0]}
    summary = summarise(times, "floor")
    assert summary["impl"]["ratio_median"] == pytest.approx(1.5)
    assert summary["impl"]["ratio_q3"] == pytest.approx(2.25)
    assert summary["impl"]["time_min_s"] == 3.0
    assert summary["floor"]["ratio_median"] == 1.0
    assert quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)


def test_summarise_names_a_missing_reference_and_ragged_rounds() -> None:
    with pytest.raises(ValueError, match="ref: 'floor_sym' was not measured"):
        summarise({"floor": [1.0]}, "floor_sym")
    with pytest.raises(ValueError, match="same number of rounds"):
        summarise({"floor": [1.0, 1.0], "impl": [1.0]}, "floor")


def test_one_case_measures_every_implementation_on_the_same_inputs() -> None:
    record = measure_case("ntxent", 8, 32, ["floor_sym", "floor_recompute", "contrastkit_dense",
                                             "contrastkit_tiled"], rounds=3, tile_size=16)
    assert record["reference"] == "floor_sym"
    assert "floor_recompute" in record["skipped"]  # CLIP only
    assert set(record["times_s"]) == {"floor_sym", "contrastkit_dense", "contrastkit_tiled"}
    assert all(len(t) == 3 for t in record["times_s"].values())
    assert record["values"]["contrastkit_dense"] == pytest.approx(record["values"]["contrastkit_tiled"], rel=1e-5)


def _record(impl: str, time_s: float) -> dict[str, object]:
    return dict(impl=impl, loss="clip", dim=128, batch=4096, status="ok", time_s=time_s, peak_mb=10.0)


def test_report_judges_speed_targets_on_the_paired_median() -> None:
    data = {"meta": {"date": "d", "loadavg": [1.0], "tile_size": 512, "threads": 1, "min_runs": 3},
            "results": [_record("floor", 1.0), _record("contrastkit_recompute", 1.5)]}
    # Per-process times say 1.50x (missed); the paired rounds say 1.30x.
    paired = {"meta": {"runs": [{"date": "d", "loadavg": [1.0], "commit": "c"}]},
              "results": [{"loss": "clip", "dim": 128, "batch": 4096, "rounds": 3, "reference": "floor",
                           "times_s": {"floor": [1.0, 1.1, 1.2], "contrastkit_recompute": [1.3, 1.43, 1.56],
                                       "floor_recompute": [1.2, 1.32, 1.44]}}]}
    assert paired_ratio(paired["results"][0], "contrastkit_recompute", "floor")[1] == pytest.approx(1.3)
    assert paired_ratio(paired["results"][0], "contrastkit_tiled", "floor") is None
    text = markdown(data, 256.0, paired)
    row = "| recompute tiled ≤ 1.4× its floor | clip d=128 B=4,096 | 1.30× [1.30–1.30] paired (bound 1.20×) | yes |"
    assert row in text
    assert "**CLIP symmetric, paired**" in text
    assert "| recompute tiled ≤ 1.4× its floor | clip d=128 B=4,096 | 1.50× | **no** |" in markdown(data, 256.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["--json", "x.json", "--impl", "floor,nope"], "--impl: unknown ['nope']"),
    (["--json", "x.json", "--rounds", "2"], "--rounds: expected at least 3"),
    ([], "--json: expected the path"),
])
def test_cli_names_the_bad_argument(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.paired import main

    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_a_case_whose_implementations_disagree_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import benchmarks.impls as impls

    good = impls.IMPLS["contrastkit_dense"]
    off = dataclasses.replace(good, make=lambda *a: (lambda step: (lambda: step() * 1.01))(good.make(*a)))
    monkeypatch.setitem(impls.IMPLS, "contrastkit_dense", off)
    with pytest.raises(RuntimeError, match="values: the implementations disagree on clip d=8 B=32"):
        measure_case("clip", 8, 32, ["floor", "contrastkit_dense", "contrastkit_tiled"], rounds=3, tile_size=16)
