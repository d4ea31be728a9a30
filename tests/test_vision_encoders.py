"""Encoders: a hand-written functional forward as reference, shapes, registry, feature extraction."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.evaluate import knn_accuracy
from contrastkit.vision import (
    MLPEncoder,
    ProjectionHead,
    SmallCNN,
    build_encoder,
    extract_features,
    load_digits_canvas,
    raw_pixel_features,
)


def reference_cnn(model: SmallCNN, x: torch.Tensor) -> torch.Tensor:
    """Eval-mode forward written with F.conv2d / F.batch_norm / amax from the module's weights."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    h = x
    for conv, bn in zip(convs, bns, strict=True):
        h = F.conv2d(h, conv.weight, padding=1)
        h = (h - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps)
        h = torch.relu(h * bn.weight[None, :, None, None] + bn.bias[None, :, None, None])
    return h.amax(dim=(2, 3))


def test_small_cnn_matches_reference_and_shapes():
    torch.manual_seed(0)
    model = SmallCNN(in_channels=1)
    assert model.feature_dim == 64
    # non-trivial BN statistics and affine parameters
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.1, 0.1)
    model.eval()
    for size in (8, 16, 28):
        x = torch.rand(5, 1, size, size)
        out = model(x)
        assert out.shape == (5, 64)
        assert torch.allclose(out, reference_cnn(model, x), atol=1e-5)


def test_small_cnn_options_and_training_step():
    m = SmallCNN(in_channels=3, widths=(8, 16, 24), feature_dim=10, pool_between=True)
    assert m.feature_dim == 10
    x = torch.rand(4, 3, 28, 28)
    out = m(x)
    assert out.shape == (4, 10)
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    with pytest.raises(ValueError, match="x"):
        m(torch.rand(4, 1, 28, 28))
    with pytest.raises(ValueError, match="widths"):
        SmallCNN(widths=())


def test_mlp_encoder_and_projection_head():
    torch.manual_seed(1)
    mlp = MLPEncoder(64, hidden=32, out_dim=16)
    assert mlp.feature_dim == 16
    x = torch.rand(6, 1, 8, 8)
    assert mlp(x).shape == (6, 16)
    mlp.eval()
    lin1, bn, lin2 = mlp.net[1], mlp.net[2], mlp.net[4]
    h = torch.relu(bn(lin1(x.flatten(1))))
    assert torch.allclose(mlp(x), lin2(h))
    with pytest.raises(ValueError, match="x"):
        mlp(torch.rand(6, 1, 4, 4))
    head = ProjectionHead(16, hidden_dim=8, out_dim=4, num_layers=3)
    kinds = [type(m).__name__ for m in head.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert head(torch.rand(5, 16)).shape == (5, 4)
    single = ProjectionHead(16, out_dim=4, num_layers=1)
    assert [type(m).__name__ for m in single.net] == ["Linear"]
    with pytest.raises(ValueError, match="num_layers"):
        ProjectionHead(16, num_layers=0)


def test_registry():
    assert isinstance(build_encoder("small_cnn", widths=(4,)), SmallCNN)
    assert isinstance(build_encoder("mlp", in_dim=10), MLPEncoder)
    with pytest.raises(ValueError, match="small_cnn"):
        build_encoder("resnet50")


def test_extract_features_batches_and_restores_mode():
    torch.manual_seed(2)
    model = SmallCNN(widths=(4, 8))
    model.train()
    x = torch.rand(10, 1, 12, 12)
    feats = extract_features(model, x, batch_size=3)
    assert model.training
    model.eval()
    assert torch.allclose(feats, model(x), atol=1e-6)


def test_random_cnn_beats_raw_pixels_on_canvas():
    # documented in docs/data.md: position on the canvas defeats raw pixels, max pooling does not
    torch.set_num_threads(1)
    tr, te = load_digits_canvas("train"), load_digits_canvas("test")
    xtr, ytr, xte, yte = tr.images[:700], tr.labels[:700], te.images[:200], te.labels[:200]
    torch.manual_seed(0)
    cnn = SmallCNN()
    ftr, fte = extract_features(cnn, xtr), extract_features(cnn, xte)
    cnn_acc = knn_accuracy(ftr, ytr, fte, yte, k=20)
    raw_acc = knn_accuracy(raw_pixel_features(xtr), ytr, raw_pixel_features(xte), yte, k=20)
    assert cnn_acc > raw_acc + 0.1, (cnn_acc, raw_acc)
