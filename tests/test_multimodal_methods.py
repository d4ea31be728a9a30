"""Two-tower and vision methods: loss parity with independent references, gates, heads."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.losses import InfoNCE
from contrastkit.methods.clip import CLIP, LogitScale, label_smoothing_weights
from contrastkit.methods.fini import ImprovedCLIP
from contrastkit.methods.hydra import PairGate
from contrastkit.methods.supremix import bin_targets


class _Flat(nn.Module):
    feature_dim = 16

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 16)

    def forward(self, x):
        return self.lin(x.flatten(1))


def _tiny(cls=CLIP, **kwargs):
    torch.manual_seed(0)
    images = torch.rand(12, 1, 4, 4)
    caption_ids = torch.arange(12) % 5
    tokens = torch.randint(1, 9, (5, 3))
    text = nn.Sequential(nn.EmbeddingBag(10, 8, mode="mean"), nn.Linear(8, 6))
    return cls(_Flat(), images, caption_ids, image_feature_dim=16, embed_dim=6, text_encoder=text,
               caption_tokens=tokens, batch_size=12, **kwargs), images, caption_ids


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_label_smoothed_infonce_equals_cross_entropy(eps):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = label_smoothing_weights(7, eps).double()
    ours = InfoNCE(0.2, mode="symmetric")(a, b, weights=w)
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / 0.2
    y = torch.arange(7)
    ref = (F.cross_entropy(logits, y, label_smoothing=eps) + F.cross_entropy(logits.T, y, label_smoothing=eps)) / 2
    torch.testing.assert_close(ours, ref)
    for x, r in zip(torch.autograd.grad(ours, (a, b)), torch.autograd.grad(ref, (a, b)), strict=True):
        torch.testing.assert_close(x, r)


def test_clip_loss_matches_a_cross_entropy_transcription_and_scale_is_clamped():
    model, images, ids = _tiny()
    img = model.encode_image(images)
    txt = model.encode_captions(ids)
    ours = model.pair_loss(img, txt, ids)
    s = model.logit_scale.scale()
    logits = s * F.normalize(img, dim=1) @ F.normalize(txt, dim=1).T
    y = torch.arange(12)
    ref = (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours, model.logit_scale.log_scale)
    (g_ref,) = torch.autograd.grad(ref, model.logit_scale.log_scale)
    torch.testing.assert_close(g_ours, g_ref)
    scale = LogitScale(0.07, 100.0)
    with torch.no_grad():
        scale.log_scale.fill_(math.log(1000.0))
    assert scale.scale().item() == pytest.approx(100.0) and scale.temperature().item() == pytest.approx(0.01)


def test_improved_clip_without_local_views_or_aux_is_clip():
    torch.manual_seed(0)
    base, images, ids = _tiny()
    torch.manual_seed(0)
    improved, _, _ = _tiny(ImprovedCLIP)
    improved.load_state_dict(base.state_dict(), strict=False)
    torch.testing.assert_close(improved.training_loss(images, ids)["loss"], base.training_loss(images, ids)["loss"])


def test_improved_clip_local_views_and_aux_terms_give_finite_gradients():
    model, images, ids = _tiny(ImprovedCLIP, n_local_views=2, local_augment=lambda x: x + 0.01 * torch.randn_like(x),
                               aux={"siam": 1.0, "barlow": 0.025, "vicreg": 0.04, "swav": 0.2, "simclr": 1.0},
                               text_augment=lambda t: t)
    terms = model.training_loss(images, ids)
    assert set(terms) >= {"loss", "clip", "clip_local", "siam", "barlow", "vicreg", "swav", "simclr"}
    terms["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.local_scale.temperature().item() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="aux"):
        _tiny(ImprovedCLIP, aux={"dino": 1.0})


def test_clip_argument_checks():
    images, ids = torch.rand(4, 1, 4, 4), torch.arange(4)
    with pytest.raises(ValueError, match="text_encoder, frozen_text"):
        CLIP(_Flat(), images, ids, image_feature_dim=16)
    with pytest.raises(ValueError, match="cwcl"):
        CLIP(_Flat(), images, ids, image_feature_dim=16, text_encoder=nn.Identity(),
             caption_tokens=torch.ones(4, 2, dtype=torch.long), loss="cwcl")
    with pytest.raises(ValueError, match="embed_dim"):
        CLIP(_Flat(), images, ids, image_feature_dim=16, frozen_text=torch.randn(4, 10), embed_dim=6)
    lit = CLIP(_Flat(), images, ids, image_feature_dim=16, frozen_text=torch.randn(4, 6), embed_dim=6, loss="cwcl")
    loss = lit.training_loss(images, ids)["loss"]
    assert torch.isfinite(loss)


def test_pair_gate_is_symmetric():
    gate = PairGate(10, 8).eval()
    y1, y2 = torch.tensor([0, 3, 7, 2]), torch.tensor([5, 3, 1, 9])
    torch.testing.assert_close(gate(y1, y2), gate(y2, y1))
    out = gate(y1, y2)
    assert out.shape == (4, 8) and torch.all((out > 0) & (out < 1))


def test_gate_entropy():
    from contrastkit.methods.hydra import gate_entropy

    half = torch.full((3, 4), 0.5)
    assert gate_entropy(half).item() == pytest.approx(math.log(2))
    assert gate_entropy(torch.tensor([[0.0, 1.0]])).item() < 1e-4


def test_bin_targets():
    y = torch.tensor([0.0, 0.05, 0.1, 0.55, 0.999, 1.0])
    assert bin_targets(y, 10).tolist() == [0, 0, 1, 5, 9, 9]
