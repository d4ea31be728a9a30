"""Markdown report with PNG plots for a run folder."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402


def read_loss_curve(log_dir: Path) -> tuple[list[int], list[float]]:
    steps, losses = [], []
    for path in sorted(log_dir.rglob("metrics.csv")):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                if row.get("train_loss"):
                    steps.append(int(row["step"]))
                    losses.append(float(row["train_loss"]))
    return steps, losses


def plot_loss_curve(steps: list[int], losses: list[float], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, losses, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Loss curve")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_embedding_map(features: Tensor, labels: Tensor, path: Path) -> None:
    """2-D PCA map of test features coloured by class."""
    x = features.double() - features.double().mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ v[:2].T).numpy()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels.numpy(), cmap="tab10", s=6)
    ax.legend(*scatter.legend_elements(), fontsize=6, loc="best", title="class")
    ax.set_title("Test embeddings (PCA)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_align_uniform(points: dict[str, tuple[float, float]], path: Path) -> None:
    """Alignment (lower = positives closer) vs uniformity (lower = more uniform), Wang & Isola 2020."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    for name, (align, unif) in points.items():
        ax.scatter([unif], [align], s=30)
        ax.annotate(name, (unif, align), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("uniformity  log E exp(-2|zi-zj|^2)")
    ax.set_ylabel("alignment  E |z - z+|^2")
    ax.set_title("Alignment / uniformity")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(run_dir: Path, name: str, metrics: dict[str, float], features: Tensor, labels: Tensor) -> Path:
    steps, losses = read_loss_curve(run_dir / "logs")
    if steps:
        plot_loss_curve(steps, losses, run_dir / "loss_curve.png")
    plot_embedding_map(features, labels, run_dir / "embedding_map.png")
    if "alignment" in metrics:
        plot_align_uniform({name: (metrics["alignment"], metrics["uniformity"])}, run_dir / "align_uniform.png")
    rows = "\n".join(f"| {k} | {v:.4f} |" for k, v in sorted(metrics.items()) if isinstance(v, float))
    learned = metrics.get("linear_probe_accuracy")
    raw = metrics.get("raw_pixel_linear_probe_accuracy")
    rand = metrics.get("random_encoder_linear_probe_accuracy")
    headline = ""
    if learned is not None and raw is not None and rand is not None:
        headline = (f"Linear probe: **{learned:.1%}** learned vs {raw:.1%} raw pixels and "
                    f"{rand:.1%} random encoder.\n\n")
    text = (
        f"# Run report: {name}\n\n{headline}"
        "| metric | value |\n| --- | --- |\n" + rows + "\n\n"
        + ("![loss curve](loss_curve.png)\n\n" if steps else "")
        + "![embedding map](embedding_map.png)\n\n"
        + ("![alignment/uniformity](align_uniform.png)\n" if "alignment" in metrics else "")
    )
    path = run_dir / "report.md"
    path.write_text(text)
    return path
