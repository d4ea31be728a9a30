"""Run report: every figure has its one-line note, a t-SNE map is drawn, bad features get one line;
the recipe reaches the loggers as hyper-parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from contrastkit.pipeline.recipe import parse_recipe
from contrastkit.pipeline.report import FIGURE_NOTES, plot_tsne_map, write_report
from contrastkit.pipeline.train import train


def clusters(n=60, d=8, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % k
    centres = 10 * torch.randn(k, d, generator=g)
    return centres[labels] + torch.randn(n, d, generator=g), labels


def test_report_explains_each_figure_and_draws_tsne(tmp_path: Path):
    features, labels = clusters()
    metrics = {"linear_probe_accuracy": 0.9, "alignment": 0.5, "uniformity": -2.0}
    text = write_report(tmp_path, "toy", metrics, features, labels).read_text()
    for figure, note in (("embedding_map.png", "pca"), ("tsne_map.png", "tsne"), ("align_uniform.png", "align")):
        assert (tmp_path / figure).is_file()
        assert f"]({figure})\n\n{FIGURE_NOTES[note]}" in text  # the note sits right under its figure
    assert "loss_curve.png" not in text  # no logs, no loss figure


def test_tsne_subsamples_and_handles_tiny_sets(tmp_path: Path):
    features, labels = clusters(n=50)
    assert plot_tsne_map(features, labels, tmp_path / "a.png", max_points=20) == 20
    assert plot_tsne_map(features[:3], labels[:3], tmp_path / "b.png") == 3
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.png").is_file()


def test_bad_features_name_the_argument(tmp_path: Path):
    features, labels = clusters()
    with pytest.raises(ValueError, match=r"^labels: expected shape \(60,\)"):
        write_report(tmp_path, "toy", {}, features, labels[:-1])
    with pytest.raises(ValueError, match="^features: expected a non-empty"):
        write_report(tmp_path, "toy", {}, features[:0], labels[:0])


def test_recipe_logged_as_hyperparameters(tmp_path: Path):
    recipe = parse_recipe({
        "name": "hparams", "seed": 1, "data": {"dataset": "digits", "augment": "canvas"},
        "model": {"encoder": "small_cnn", "encoder_kwargs": {"widths": [4, 8]}, "projector_out_dim": 8},
        "method": {"name": "simclr", "loss": "infonce", "loss_kwargs": {"temperature": 0.3}},
        "trainer": {"max_steps": 2, "batch_size": 16, "log_every_n_steps": 1},
    })
    train(recipe, tmp_path, progress=False, evaluate=False)
    saved = yaml.safe_load((tmp_path / "logs" / "csv" / "hparams.yaml").read_text())
    assert saved["name"] == "hparams" and saved["trainer"]["max_steps"] == 2
    assert saved["method"]["loss_kwargs"] == {"temperature": 0.3}
    events = list((tmp_path / "logs").glob("tensorboard*/events.out.tfevents.*"))
    if events:  # tensorboard is optional; when present its HPARAMS plugin gets the flattened recipe
        pytest.importorskip("tensorboard")
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(str(events[0].parent))
        acc.Reload()
        assert "hparams" in acc.summary_metadata.get("_hparams_/session_start_info").plugin_data.plugin_name
