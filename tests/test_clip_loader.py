"""CLIP / LiT trained from a DataLoader of (images, text) batches: the same training as in-memory pairs."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import contrastkit as ck
from contrastkit.methods import CLIP, LiT
from contrastkit.multimodal.text import BagOfWordsEncoder
from contrastkit.training.steps import batch_rows

N, B, STEPS = 16, 4, 3
IMAGES = torch.rand(N, 3, 8, 8, generator=torch.Generator().manual_seed(1))
CAPTION_IDS = torch.arange(N) % 4
TOKENS = torch.tensor([[2, 3, 0], [3, 4, 1], [4, 2, 2], [1, 1, 3]])
FROZEN = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))


def _encoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 12), nn.ReLU(), nn.Linear(12, 6))


def _weights(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def _same_batches(text: torch.Tensor) -> DataLoader:
    """The rows the in-memory model picks at steps 0..STEPS-1, served by a plain DataLoader."""
    batches = []
    for t in range(STEPS):
        rows = batch_rows(t, N, B, 0)
        batches.append((IMAGES[rows], text[CAPTION_IDS[rows]]))
    return DataLoader(batches, batch_size=None, shuffle=False)


def test_trainable_tower_from_a_loader_equals_in_memory_pairs():
    torch.manual_seed(3)
    text = BagOfWordsEncoder(5, 4, 6)
    memory = CLIP(_encoder(), IMAGES, CAPTION_IDS, image_feature_dim=6, embed_dim=6, text_encoder=copy.deepcopy(text),
                  caption_tokens=TOKENS, batch_size=B)
    loaded = CLIP(_encoder(), image_feature_dim=6, embed_dim=6, text_encoder=copy.deepcopy(text), batch_size=B)
    loaded.load_state_dict(memory.state_dict())
    ck.fit(memory, max_steps=STEPS)
    ck.fit(loaded, data=_same_batches(TOKENS), max_steps=STEPS)
    assert not torch.equal(_weights(memory.image_head), _weights(CLIP(
        _encoder(), IMAGES, CAPTION_IDS, image_feature_dim=6, embed_dim=6, text_encoder=copy.deepcopy(text),
        caption_tokens=TOKENS).image_head)), "training moved nothing"
    torch.testing.assert_close(_weights(loaded), _weights(memory), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["clip", "cwcl"])
def test_locked_tower_from_a_loader_equals_in_memory_frozen_text(loss):
    memory = LiT(_encoder(), IMAGES, CAPTION_IDS, image_feature_dim=6, embed_dim=4, frozen_text=FROZEN, text_head=True,
                 loss=loss, batch_size=B)
    loaded = LiT(_encoder(), data=_same_batches(FROZEN), image_feature_dim=6, embed_dim=4, text_dim=5,
                 frozen_text=None, text_head=True, loss=loss, batch_size=B)
    loaded.load_state_dict(memory.state_dict())
    ck.fit(memory, max_steps=STEPS)
    ck.fit(loaded, max_steps=STEPS)  # the loader given at construction
    torch.testing.assert_close(_weights(loaded), _weights(memory), rtol=1e-5, atol=1e-6)


def test_a_loader_trained_clip_saves_and_loads(tmp_path):
    clip = CLIP(_encoder(), image_feature_dim=6, embed_dim=6, text_encoder=BagOfWordsEncoder(5, 4, 6), batch_size=B)
    ck.fit(clip, data=_same_batches(TOKENS), max_steps=2)
    ck.save_pretrained(clip, tmp_path / "m")
    back = ck.from_pretrained(tmp_path / "m")
    torch.testing.assert_close(back.encode_image(IMAGES[:3]), clip.encode_image(IMAGES[:3]))


def test_bad_loader_input_is_named():
    text = BagOfWordsEncoder(5, 4, 6)
    with pytest.raises(ValueError, match=r"^data: CLIP has no training data; pass data="):
        ck.fit(CLIP(_encoder(), image_feature_dim=6, embed_dim=6, text_encoder=text), max_steps=1)
    with pytest.raises(ValueError, match=r"^data: give a DataLoader of \(images, text\) batches or images"):
        CLIP(_encoder(), IMAGES, CAPTION_IDS, data=_same_batches(TOKENS), image_feature_dim=6, text_encoder=text,
             caption_tokens=TOKENS)
    with pytest.raises(TypeError, match=r"^data: expected a DataLoader"):
        CLIP(_encoder(), data=[(IMAGES, TOKENS)], image_feature_dim=6, text_encoder=text)
    with pytest.raises(ValueError, match=r"^text_encoder, frozen_text: give exactly one"):
        CLIP(_encoder(), data=_same_batches(TOKENS), image_feature_dim=6, embed_dim=6)
    only_images = DataLoader([IMAGES[:4]] * 2, batch_size=None)
    with pytest.raises(ValueError, match=r"^data: expected \(images, text\) tensor batches"):
        ck.fit(CLIP(_encoder(), image_feature_dim=6, embed_dim=6, text_encoder=text, batch_size=B),
               data=only_images, max_steps=1)
    with pytest.raises(ValueError, match=r"^data: a locked text tower expects frozen embeddings"):
        ck.fit(LiT(_encoder(), data=_same_batches(TOKENS), image_feature_dim=6, embed_dim=4, text_dim=3,
                   frozen_text=None, text_head=True, batch_size=B), max_steps=1)
    with pytest.raises(TypeError, match=r"^data: CLIP holds its own training data or takes a DataLoader"):
        ck.fit(CLIP(_encoder(), image_feature_dim=6, embed_dim=6, text_encoder=text, batch_size=B), data=IMAGES,
               max_steps=1)
