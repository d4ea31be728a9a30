"""Evaluate a trained encoder on a labelled split, next to the raw-pixel and random-encoder baselines."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit import evaluate as ev
from contrastkit._progress import announce


@torch.no_grad()
def embed(module: nn.Module, images: Tensor, batch_size: int = 1024) -> Tensor:
    """Run ``module`` in eval mode over ``images`` in batches; restores the training flag."""
    was_training = module.training
    module.eval()
    try:
        return torch.cat([module(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])
    finally:
        module.train(was_training)


def representation_metrics(
    encoder: nn.Module,
    projector: nn.Module,
    train_images: Tensor,
    train_labels: Tensor,
    test_images: Tensor,
    test_labels: Tensor,
    augment: Callable[[Tensor], Tensor] | None = None,
    *,
    knn_k: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """Linear probe and kNN (top-1, top-5, DINO's weighted vote) on backbone features; geometry on
    normalised projector outputs.

    ``alignment`` uses two augmented views of each test image (Wang & Isola 2020);
    ``uniformity`` and ``tolerance`` (Wang & Liu 2021) use the clean test images.
    """
    announce(f"embedding {len(train_images)} train + {len(test_images)} test images")
    h_train, h_test = embed(encoder, train_images), embed(encoder, test_images)
    z_test = F.normalize(embed(projector, h_test), dim=1)
    announce("linear probe and kNN")
    metrics = {
        "linear_probe_accuracy": ev.linear_probe(h_train, train_labels, h_test, test_labels, seed=seed),
        "knn_accuracy": ev.knn_accuracy(h_train, train_labels, h_test, test_labels, k=knn_k),
        "knn_top5_accuracy": ev.knn_accuracy(h_train, train_labels, h_test, test_labels, k=knn_k, topk=5),
        "uniformity": ev.uniformity(z_test),
        "tolerance": ev.tolerance(z_test, test_labels),
        "effective_rank": ev.effective_rank(h_test),
    }
    if augment is not None:
        state = torch.random.get_rng_state()
        torch.manual_seed(seed + 12345)
        v1, v2 = augment(test_images), augment(test_images)
        torch.random.set_rng_state(state)
        z1 = embed(projector, embed(encoder, v1))
        z2 = embed(projector, embed(encoder, v2))
        metrics["alignment"] = ev.alignment(z1, z2)
    return metrics


def baseline_metrics(
    make_encoder: Callable[[], nn.Module],
    train_images: Tensor,
    train_labels: Tensor,
    test_images: Tensor,
    test_labels: Tensor,
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Linear probes on raw pixels and on a randomly initialised encoder of the same architecture."""
    announce("baselines: raw pixels and a random encoder")
    raw = ev.linear_probe(train_images.flatten(1), train_labels, test_images.flatten(1), test_labels, seed=seed)
    torch.manual_seed(seed)
    random_encoder = make_encoder()
    h_train, h_test = embed(random_encoder, train_images), embed(random_encoder, test_images)
    rand = ev.linear_probe(h_train, train_labels, h_test, test_labels, seed=seed)
    return {"raw_pixel_linear_probe_accuracy": raw, "random_encoder_linear_probe_accuracy": rand}
