"""Markdown report with PNG plots for a run folder."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


TSNE_MAX_POINTS = 1500


def _check_features(features: object, labels: object) -> None:
    if not isinstance(features, Tensor) or features.dim() != 2 or features.shape[0] == 0:
        raise ValueError(f"features: expected a non-empty (n, d) tensor, got {getattr(features, 'shape', features)!r}")
    if not isinstance(labels, Tensor) or labels.shape != (features.shape[0],):
        raise ValueError(f"labels: expected shape ({features.shape[0]},) (one per feature row), "
                         f"got {tuple(getattr(labels, 'shape', ()))}")


def plot_tsne_map(features: Tensor, labels: Tensor, path: Path, *, seed: int = 0,
                  max_points: int = TSNE_MAX_POINTS) -> int:
    """2-D t-SNE map (van der Maaten & Hinton, JMLR 2008) of test features coloured by class.

    ``sklearn.manifold.TSNE`` with PCA initialisation, perplexity ``min(30, (n - 1) / 3)`` and a
    fixed ``random_state``; at most ``max_points`` rows (a seeded random subset) keep it to
    seconds on a CPU. Returns the number of points drawn.
    """
    from sklearn.manifold import TSNE

    _check_features(features, labels)
    n = features.shape[0]
    if n > max_points:
        keep = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_points].sort().values
        features, labels = features[keep], labels[keep]
        n = max_points
    x = features.double().numpy()
    if n >= 4:
        xy = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed).fit_transform(x)
    else:  # t-SNE needs perplexity < n; a handful of points is drawn as given
        xy = x[:, :2] if x.shape[1] >= 2 else np.concatenate([x, np.zeros_like(x)], axis=1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels.numpy(), cmap="tab10", s=6)
    ax.legend(*scatter.legend_elements(), fontsize=6, loc="best", title="class")
    ax.set_title(f"Test embeddings (t-SNE, {n} points)")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return n


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


FIGURE_NOTES = {
    "loss": "The training loss per logged step; it should fall and flatten, a rise or NaN gap means divergence.",
    "pca": "Test-set encoder features projected on their two largest principal components, one colour per "
           "class: a linear view, so separated colours mean classes a linear probe can tell apart.",
    "tsne": "The same test features in a t-SNE map, which keeps neighbourhoods rather than distances: tight "
            "single-colour islands mean a kNN classifier will do well; distances between islands mean little.",
    "align": "Alignment (mean squared distance between the projections of two views of a test image; lower "
             "is closer) against "
             "uniformity (how evenly the normalised projections spread on the sphere; lower is more uniform), "
             "Wang & Isola (ICML 2020).",
}


def write_report(run_dir: Path, name: str, metrics: dict[str, float], features: Tensor, labels: Tensor) -> Path:
    """``report.md`` with the metrics table and the figures, each explained in one line."""
    _check_features(features, labels)
    steps, losses = read_loss_curve(run_dir / "logs")
    if steps:
        plot_loss_curve(steps, losses, run_dir / "loss_curve.png")
    plot_embedding_map(features, labels, run_dir / "embedding_map.png")
    plot_tsne_map(features, labels, run_dir / "tsne_map.png")
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
        + (f"![loss curve](loss_curve.png)\n\n{FIGURE_NOTES['loss']}\n\n" if steps else "")
        + f"![embedding map](embedding_map.png)\n\n{FIGURE_NOTES['pca']}\n\n"
        + f"![t-SNE map](tsne_map.png)\n\n{FIGURE_NOTES['tsne']}\n\n"
        + (f"![alignment/uniformity](align_uniform.png)\n\n{FIGURE_NOTES['align']}\n"
           if "alignment" in metrics else "")
    )
    path = run_dir / "report.md"
    path.write_text(text)
    return path
