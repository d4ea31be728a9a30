"""Tests of the time-series reproductions: the recipes are their single source of settings (parsed
values, missing keys, patched values observed in training), and smoke tests of the quick
reproductions (1 seed, tiny); the claims themselves are checked by the full runs
(``contrastkit reproduce autotcl|comet|dbpm``, numbers in docs/timeseries.md)."""

import copy
import time

import pytest
import torch

from contrastkit.papers import _timeseries as T  # where the reproductions look up load_recipe / _trainer
from contrastkit.reproduce import timeseries as R

NAMES = ["autotcl", "comet", "dbpm"]
TRAINER = {"accelerator": "cpu", "devices": 1, "enable_checkpointing": False, "logger": False}

# The settings the 3-seed figures of docs/timeseries.md were measured with, written out by hand
# (independent of the YAML) so that a drifting recipe fails here.
EXPECTED = {
    "autotcl": {
        "datasets": ["GunPoint", "ArrowHead", "ItalyPowerDemand", "BasicMotions"],
        "normalize": ["BasicMotions"],
        "encoder": {"hidden_dims": 32, "repr_dims": 64, "depth": 3, "mask_mode": "all_true"},
        "fixed": ["jitter_scaling", "masking", "time_warp"],
        "model": {"aug_dim": 16, "aug_depth": 1, "gumbel_bias": 0.05, "gamma_zeta": 0.05, "lr": 1e-3,
                  "meta_lr": 0.01, "ratio_step": 1, "local_weight": 0.3, "reg_weight": 0.003,
                  "time_weight": 0.0, "local_k": 16, "swa": True},
        "batch_size": 16, "iterations": 150, "trainer": TRAINER,
        "keep_window": 20, "keep_bounds": (0.0, 1.0),
        "keep_gating": False,
    },
    "comet": {
        "dataset": "BasicMotions", "normalize": True,
        "hierarchy": {"trials_per_patient": 2, "window": 40, "stride": 20, "subject_effect": 0.2},
        "test_fraction": 0.3,
        "encoder": {"hidden_dims": 32, "repr_dims": 64, "depth": 3, "mask_mode": "continuous"},
        "variants": {"all": {"patient": 0.25, "trial": 0.25, "sample": 0.25, "observation": 0.25},
                     "patient": {"patient": 1.0}, "trial": {"trial": 1.0}, "sample": {"sample": 1.0},
                     "observation": {"observation": 1.0}},
        "pairs": "labels", "lr": 1e-3, "batch_size": 64, "epochs": 20, "trainer": TRAINER,
        "combined": "all", "gating": True,
    },
    "dbpm": {
        "dataset": "OSULeaf", "normalize": False,
        # 4 %: a rate DBPM's 3-sigma rule can flag (largest z-score sqrt(0.96/0.04) = 4.9; at 10 % it is 3.0)
        "planted": {"fraction": 0.04, "seed_offset": 10_000, "noise_std": 0.1, "faulty_segments": 32,
                    "faulty_jitter": 2.0},
        "encoder": {"hidden_dims": 32, "repr_dims": 64, "depth": 2, "mask_mode": "all_true"},
        "head_hidden": 128, "head_out": 64, "weak_scaling": 1.1, "strong_segments": 5,
        "strong_jitter": 0.3, "temperature": 0.2, "lr": 3e-3, "batch_size": 64, "epochs": 30,
        "warmup": 15, "beta_np": 2.0, "beta_fp": 3.0, "trainer": TRAINER,
        "precision_factor": 3, "precision_gating": True, "accuracy_gating": False,
    },
}
QUICK = {"autotcl": {"iterations": 30, "fixed": ["jitter_scaling"]}, "comet": {"epochs": 3},
         "dbpm": {"epochs": 8, "warmup": 4}}
SETTINGS = {"autotcl": R.autotcl_settings, "comet": R.comet_settings, "dbpm": R.dbpm_settings}


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _patched(monkeypatch, name, edit):
    """Make the reproduction read ``edit(recipe)`` instead of recipes/<name>.yaml."""
    recipe = copy.deepcopy(R.load_recipe(name))
    edit(recipe)
    real = T.load_recipe
    monkeypatch.setattr(T, "load_recipe", lambda n: copy.deepcopy(recipe) if n == name else real(n))


def _spy_fits(monkeypatch):
    """Record (trainer kwargs, model, loader) of every ``fit`` the reproductions run."""
    fits = []
    real = T._trainer

    def trainer(cfg, **kwargs):
        t = real(cfg, **kwargs)
        fit = t.fit

        def spy(model, loader):
            fits.append(({**cfg, **kwargs}, model, loader))
            return fit(model, loader)

        t.fit = spy
        return t

    monkeypatch.setattr(T, "_trainer", trainer)
    return fits


@pytest.mark.parametrize("name", NAMES)
def test_recipe_is_plain_data_with_current_values(name):
    recipe = R.load_recipe(name)
    assert recipe["name"] == name and recipe["reproduce"] == f"contrastkit.reproduce.timeseries.{name}"
    assert recipe["training"]["seeds"] == [0, 1, 2]
    assert SETTINGS[name](recipe) == EXPECTED[name]
    assert SETTINGS[name](recipe, quick=True) == EXPECTED[name] | QUICK[name]


@pytest.mark.parametrize(("name", "path"), [
    ("autotcl", "training.lr"), ("autotcl", "claims.learned_vs_baseline.planning_sd"),
    ("comet", "dataset.hierarchy.window"), ("comet", "claims.all_vs_single.combined"),
    ("dbpm", "training.warmup"), ("dbpm", "claims.flag_precision.factor"),
])
def test_missing_recipe_key_is_named(monkeypatch, name, path):
    *parents, leaf = path.split(".")

    def drop(recipe):
        node = recipe
        for key in parents:
            node = node[key]
        del node[leaf]
        recipe.pop("quick", None)  # so a quick override cannot stand in for the dropped key

    _patched(monkeypatch, name, drop)
    with pytest.raises(ValueError, match=f"missing required key '{path}'"):
        getattr(R, name)(quick=True)


def test_recipe_name_must_match(tmp_path, monkeypatch):
    (tmp_path / "autotcl.yaml").write_text("name: comet\n")
    monkeypatch.setattr(T, "RECIPES", tmp_path)
    with pytest.raises(ValueError, match="name: autotcl"):
        R.load_recipe("autotcl")


def test_autotcl_uses_recipe(monkeypatch):
    def edit(r):
        r["dataset"]["names"] = ["ItalyPowerDemand"]
        r["encoder"].update(hidden_dims=8, repr_dims=12, depth=1)
        r["training"].update(batch_size=8, lr=0.005, meta_lr=0.02, aug_dim=4, seeds=[7, 8])
        r["quick"].update(iterations=3, fixed_augmentations=["masking"])
        r["claims"]["keep_ratio"]["bounds"] = [0.0, 2.0]

    _patched(monkeypatch, "autotcl", edit)
    fits = _spy_fits(monkeypatch)
    result = R.autotcl(quick=True)
    # the pre-specified baseline (jitter_scaling) is always trained, then the recipe's fixed list
    assert [m.augmentation for _, m, _ in fits] == ["learned", "jitter_scaling", "masking"]
    for kwargs, model, loader in fits:
        assert kwargs["max_epochs"] == 1 and kwargs["accelerator"] == "cpu"
        assert len(loader) == 3 and loader.batch_size == 8
        assert (model.lr, model.meta_lr) == (0.005, 0.02)
        assert model.encoder.output_dims == 12 and model.encoder.input_dims == 1
    assert fits[0][1].aug_net is not None and fits[1][1].aug_net is None and fits[2][1].aug_net is None
    assert list(result.metrics["accuracy"]) == ["ItalyPowerDemand"]
    assert result.metrics["seeds"] == [7] and result.metrics["fixed"] == ["jitter_scaling", "masking"]
    assert result.metrics["config"]["iterations"] == 3
    assert "1 sets x 1 seeds" in result.claims[0].name and result.claims[0].precondition
    assert any("> masking" in c.name for c in result.claims)
    assert "(0, 2)" in result.claims[-1].name


def test_comet_uses_recipe(monkeypatch):
    def edit(r):
        r["dataset"]["hierarchy"].update(window=50, stride=25)
        r["encoder"].update(hidden_dims=8, repr_dims=12, depth=1)
        r["training"]["variants"] = {"all": {"trial": 0.5, "sample": 0.5}, "trial": {"trial": 1.0}}
        r["training"].update(lr=0.004, batch_size=32, seeds=[3])
        r["quick"]["epochs"] = 1
        r["claims"]["all_vs_single"]["gating"] = False

    _patched(monkeypatch, "comet", edit)
    fits = _spy_fits(monkeypatch)
    result = R.comet(quick=True)
    assert len(fits) == 2
    assert [m.loss_fn.weights for _, m, _ in fits] == [
        {"observation": 0.0, "sample": 0.5, "trial": 0.5, "patient": 0.0},
        {"observation": 0.0, "sample": 0.0, "trial": 1.0, "patient": 0.0}]
    for kwargs, model, loader in fits:
        assert kwargs["max_epochs"] == 1 and model.lr == 0.004
        assert model.encoder.output_dims == 12 and model.encoder.mask_mode == "continuous"
        assert loader.dataset.tensors[0].shape[-1] == 50
        assert max(len(b) for b in loader.batch_sampler) <= 32
    assert list(result.metrics["accuracy"]) == ["all", "trial"] and result.metrics["seeds"] == [3]
    assert result.claims[0].gating is False


def test_dbpm_uses_recipe(monkeypatch):
    def edit(r):
        r["dataset"]["planted"]["fraction"] = 0.05
        r["encoder"].update(hidden_dims=8, repr_dims=12, depth=1, head_hidden=16, head_out=6)
        r["training"].update(temperature=0.5, lr=0.002, batch_size=50, beta_np=1.5, beta_fp=2.5)
        r["quick"].update(epochs=3, warmup=2)
        r["claims"]["flag_precision"]["factor"] = 2

    _patched(monkeypatch, "dbpm", edit)
    fits = _spy_fits(monkeypatch)
    result = R.dbpm(quick=True)
    assert len(fits) == 2
    for kwargs, model, loader in fits:
        assert kwargs["max_epochs"] == 3 and loader.batch_size == 50 and model.lr == 0.002
        assert model.loss_fn.temperature == 0.5 and model.encoder.output_dims == 12
        assert model.head[0].out_features == 16 and model.head[-1].out_features == 6
    miner = fits[1][1].miner
    assert fits[0][1].miner is None and (miner.max_epochs, miner.warmup) == (3, 2)
    assert (miner.beta_np, miner.beta_fp) == (1.5, 2.5)
    assert result.metrics["config"]["planted"] == 0.05
    assert any("flag precision >= 2 x planted rate (10%)" in c.name for c in result.claims)


@pytest.mark.parametrize("name", NAMES)
def test_quick_variant_runs(name):
    start = time.process_time()
    result = getattr(R, name)(quick=True)
    assert result.quick and result.name == name and result.claims
    assert all(isinstance(c.passed, bool) for c in result.claims)
    # one seed evaluates nothing: never PASSED above an unmet claim
    assert not any(c.gating for c in result.claims) and result.outcome() == "smoke"
    assert result.summary().splitlines()[0] == f"{name} (quick): smoke run: claims not evaluated"
    assert result.metrics["seeds"] == [0]
    accuracy = result.metrics["accuracy"]
    values = [v for d in accuracy.values() for v in (d.values() if isinstance(d, dict) else [d])]
    flat = [a for v in values for a in v]
    assert flat and all(0.0 <= a <= 1.0 for a in flat)
    # the quick budget is 60 s of CPU (wall time depends on how busy the shared machine is)
    assert time.process_time() - start < 60


# ------------------------------------------------------------------------------ forecasting probe
FORECASTING = {
    "dataset": "airline", "test_fraction": 0.2, "lookback": 24, "horizons": [1, 3, 12],
    "encoder": {"hidden_dims": 32, "repr_dims": 64, "depth": 3, "mask_mode": "binomial"},
    "segment_length": 36, "alpha": 0.5, "temporal_unit": 0, "lr": 1e-3, "batch_size": 16,
    "epochs": 40, "trainer": TRAINER, "last_value_gating": True, "raw_gating": False,
}


def test_forecasting_recipe_is_plain_data_with_current_values():
    recipe = R.load_recipe("forecasting")
    assert recipe["reproduce"] == "contrastkit.reproduce.timeseries.forecasting"
    assert recipe["training"]["seeds"] == list(range(10))
    assert R.forecasting_settings(recipe) == FORECASTING
    assert R.forecasting_settings(recipe, quick=True) == FORECASTING | {"epochs": 5}


def test_forecasting_missing_key_is_named(monkeypatch):
    def drop(recipe):
        del recipe["windows"]["lookback"]

    _patched(monkeypatch, "forecasting", drop)
    with pytest.raises(ValueError, match="missing required key 'windows.lookback'"):
        R.forecasting(quick=True)


def test_forecasting_quick_uses_recipe_without_test_leakage(monkeypatch):
    def edit(r):
        r["windows"].update(lookback=12, horizons=[2])
        r["encoder"].update(hidden_dims=8, repr_dims=12, depth=1)
        r["training"].update(segment_length=20, batch_size=32, lr=0.004, seeds=[5])
        r["quick"]["epochs"] = 1

    _patched(monkeypatch, "forecasting", edit)
    fits = _spy_fits(monkeypatch)
    result = R.forecasting(quick=True)
    assert len(fits) == 1
    kwargs, model, loader = fits[0]
    assert kwargs["max_epochs"] == 1 and model.lr == 0.004 and loader.batch_size == 32
    assert model.encoder.output_dims == 12 and model.encoder.input_dims == 1
    # the encoder trains on the first 115 of 144 months only: the slices of length 20 of them
    segments = loader.dataset.tensors[0]
    assert segments.shape == (115 - 20 + 1, 1, 20) and result.metrics["train_steps"] == 115
    from contrastkit.timeseries import load_forecasting_series

    s = load_forecasting_series("airline").double().log()
    z = ((s - s[:115].mean()) / s[:115].std()).float()
    torch.testing.assert_close(segments[-1, 0], z[95:115])
    # baselines computed independently: last value and sklearn ridge are deterministic references
    x = torch.stack([z[i:i + 12] for i in range(115 - 12, 144 - 12 - 2 + 1)])
    y = torch.stack([z[i + 12:i + 14] for i in range(115 - 12, 144 - 12 - 2 + 1)])
    naive = float(((x[:, -1:] - y).double() ** 2).mean())
    forecast = result.metrics["forecast"]
    assert forecast["last_value"]["2"]["mse"] == [pytest.approx(naive, rel=1e-6)]
    assert set(forecast) == {"ts2vec", "raw", "last_value"} and result.metrics["seeds"] == [5]


def test_forecasting_quick_variant_runs():
    start = time.process_time()
    result = R.forecasting(quick=True)
    assert result.quick and result.name == "forecasting" and len(result.claims) == 3
    # a quick run (one seed) gates nothing: precondition and claims are reported as measured
    assert result.claims[0].precondition and not any(c.gating for c in result.claims)
    assert result.outcome() == "smoke" and "claims not evaluated" in result.summary()
    assert result.metrics["seeds"] == [0] and result.metrics["horizons"] == [1, 3, 12]
    for method in ("ts2vec", "raw", "last_value"):
        for h in ("1", "3", "12"):
            mse, mae = (result.metrics["forecast"][method][h][k] for k in ("mse", "mae"))
            assert len(mse) == 1 and 0 < mse[0] < 10 and 0 < mae[0] < 10
    assert time.process_time() - start < 30
