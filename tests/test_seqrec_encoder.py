"""SASRec: causality, padding invariance, output shapes."""

import torch

from contrastkit.seqrec import SASRec


def model_():
    torch.manual_seed(0)
    return SASRec(30, 8, hidden_size=16, n_heads=2, inner_size=32, n_layers=2).eval()


def test_causal():
    model = model_()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    out = model(seq)
    changed = seq.clone()
    changed[0, 6:] = torch.tensor([1, 2])              # the future does not change earlier outputs
    assert torch.allclose(model(changed)[0, 2:6], out[0, 2:6], atol=1e-6)
    assert not torch.allclose(model(changed)[0, 7], out[0, 7])
    assert torch.isfinite(out).all()


def test_padding_is_invisible():
    model = model_()
    padded = model.encode(torch.tensor([[0, 0, 0, 0, 5, 6, 7, 8]]))
    unpadded = model.encode(torch.tensor([[5, 6, 7, 8]]))  # same items at the same (right-aligned) positions
    assert torch.allclose(padded, unpadded, atol=1e-6)
    longer = model.encode(torch.tensor([[9, 9, 9, 9, 5, 6, 7, 8]]))
    assert not torch.allclose(padded, longer)


def test_shapes_and_scores():
    model = SASRec(30, 8, hidden_size=16, n_heads=2, inner_size=32)
    h = model.encode(torch.randint(1, 31, (5, 8)))
    assert h.shape == (5, 16)
    assert model.scores(h).shape == (5, 30)
    assert torch.allclose(model.scores(h), h @ model.item_embedding.weight[1:31].T)
    assert model.full_scores(torch.randint(1, 31, (7, 8)), batch_size=3).shape == (7, 30)
    assert model.training  # full_scores restores the mode
