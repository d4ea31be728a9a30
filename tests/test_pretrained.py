"""save_pretrained / from_pretrained / encode: round trips give equal embeddings; bad folders get one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import contrastkit as ck
from contrastkit.methods import CLIP
from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.multimodal import BagOfWordsEncoder
from contrastkit.pretrained import ImageTextModel, encode, from_pretrained, register, save_pretrained
from contrastkit.timeseries.encoder import TSEncoder, instance_pool
from contrastkit.vision import MLPEncoder, ProjectionHead, SmallCNN


def _perturb(model: nn.Module) -> nn.Module:
    """Non-default weights and BN statistics, so a round trip cannot pass on fresh initialisation."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(0.1 * torch.randn(t.shape, generator=g).abs())
    return model.eval()


def image_model(pool_between=True, feature_dim=12):
    enc = SmallCNN(3, widths=(4, 6), feature_dim=feature_dim, pool_between=pool_between)
    return _perturb(EncoderWithHead(enc, ProjectionHead(enc.feature_dim, 10, 5, num_layers=3)))


@pytest.mark.parametrize("pool_between,feature_dim", [(True, 12), (False, None)])
def test_image_encoder_with_head_round_trip(tmp_path, pool_between, feature_dim):
    model = image_model(pool_between, feature_dim)
    x = torch.rand(7, 3, 8, 8)
    save_pretrained(model, tmp_path / "m", metadata={"input_shape": [3, 8, 8]})
    loaded = from_pretrained(tmp_path / "m")
    assert type(loaded) is EncoderWithHead and not loaded.training
    h, z = model(x)
    h2, z2 = loaded(x)
    torch.testing.assert_close(h2, h, rtol=0, atol=0)
    torch.testing.assert_close(z2, z, rtol=0, atol=0)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["format"] == "contrastkit-model/1" and config["metadata"] == {"input_shape": [3, 8, 8]}
    # the weights file holds exactly the model's state, readable by safetensors alone
    assert set(load_file(str(tmp_path / "m" / "model.safetensors"))) == set(model.state_dict())


def test_mlp_and_sequential_of_torch_layers(tmp_path):
    for i, model in enumerate([_perturb(MLPEncoder(12, 8, 4)),
                               _perturb(nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.LayerNorm(6), nn.GELU(),
                                                      nn.Dropout(0.2), nn.Linear(6, 3, bias=False)))]):
        x = torch.rand(5, 3, 2, 2)
        loaded = from_pretrained(save_pretrained(model, tmp_path / str(i)))
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_ts2vec_encoder_round_trip_and_encode(tmp_path):
    model = _perturb(TSEncoder(input_dims=2, output_dims=8, hidden_dims=5, depth=2, mask_mode="continuous",
                               dropout=0.3))
    x = torch.randn(9, 2, 20)
    loaded = from_pretrained(save_pretrained(model, tmp_path / "ts"))
    assert loaded.mask_mode == "continuous" and loaded.repr_dropout.p == 0.3
    ref = instance_pool(model(x, mask="all_true"))
    torch.testing.assert_close(encode(loaded, x, batch_size=4), ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(model.encode(x), ref, rtol=0, atol=1e-6)  # the encoder's own encode agrees


def _clip(text_tower: bool):
    images, ids = torch.rand(6, 1, 4, 4), torch.arange(6) % 3
    enc = nn.Sequential(nn.Flatten(), nn.Linear(16, 8))
    if text_tower:
        return CLIP(enc, images, ids, image_feature_dim=8, embed_dim=5, text_encoder=BagOfWordsEncoder(11, 4, 5),
                    caption_tokens=torch.randint(1, 11, (3, 4)))
    return CLIP(enc, images, ids, image_feature_dim=8, embed_dim=5, frozen_text=torch.randn(3, 7), text_head=True)


@pytest.mark.parametrize("text_tower", [True, False])
def test_clip_and_lit_towers_round_trip(tmp_path, text_tower):
    clip = _perturb(_clip(text_tower))
    with torch.no_grad():
        clip.logit_scale.log_scale.fill_(2.5)
    loaded = from_pretrained(save_pretrained(clip, tmp_path / "clip"))
    assert isinstance(loaded, ImageTextModel)
    x = torch.rand(4, 1, 4, 4)
    torch.testing.assert_close(loaded.encode_image(x), clip.encode_image(x), rtol=0, atol=0)
    text = torch.randint(1, 11, (4, 4)) if text_tower else torch.randn(4, 7)
    ref = clip.encode_tokens(text) if text_tower else clip.text_head(text)
    torch.testing.assert_close(loaded.encode_text(text), ref, rtol=0, atol=0)
    assert loaded.logit_scale.scale().item() == pytest.approx(np.exp(2.5))
    torch.testing.assert_close(encode(loaded, x), clip.encode_image(x))


@register("test_registered_encoder")
class RegisteredEncoder(nn.Module):
    def __init__(self, dim: int, widths: tuple[int, ...] = (3,), *, head: nn.Module | None = None) -> None:
        super().__init__()
        self.net = nn.Linear(dim, widths[0])
        self.head = head or nn.Identity()

    def forward(self, x):
        return self.head(self.net(x))


class PlainEncoder(nn.Module):
    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.net = nn.Linear(dim, 3)

    def forward(self, x):
        return self.net(x)


def test_registered_custom_encoder_round_trip(tmp_path):
    model = _perturb(RegisteredEncoder(4, (6,), head=nn.Linear(6, 2)))
    x = torch.randn(3, 4)
    loaded = from_pretrained(save_pretrained(model, tmp_path / "r"))
    assert isinstance(loaded, RegisteredEncoder)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    spec = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert spec["type"] == "test_registered_encoder" and spec["kwargs"]["dim"] == 4


def test_unregistered_encoder_passed_in(tmp_path):
    model = _perturb(EncoderWithHead(PlainEncoder(4), ProjectionHead(3, 4, 2)))
    x = torch.randn(5, 4)
    save_pretrained(model, tmp_path / "p")
    with pytest.raises(ValueError, match=r"^encoder: the saved model contains the unregistered class 'PlainEncoder'"):
        from_pretrained(tmp_path / "p")
    for enc in (PlainEncoder, PlainEncoder(4)):
        loaded = from_pretrained(tmp_path / "p", encoder=enc)
        torch.testing.assert_close(loaded(x)[1], model(x)[1], rtol=0, atol=0)
    with pytest.raises(ValueError, match="^path: weight 'encoder.net.weight' has shape"):
        from_pretrained(tmp_path / "p", encoder=PlainEncoder(5))


def test_unsaveable_argument_names_it(tmp_path):
    with pytest.raises(TypeError, match=r"^model: constructor argument model.widths\[0\] = Tensor"):
        save_pretrained(RegisteredEncoder(2, (torch.tensor(3),)), tmp_path / "x")


def test_run_folder_is_read(tmp_path):
    from contrastkit.pipeline.recipe import parse_recipe
    from contrastkit.pipeline.runfolder import load_model, save_model

    recipe = parse_recipe({"name": "t", "data": {"dataset": "digits", "augment": "canvas"},
                           "model": {"encoder": "small_cnn", "encoder_kwargs": {"widths": [4, 6]},
                                     "projector_out_dim": 5}})
    from contrastkit.pipeline.builders import build_model

    model = _perturb(build_model(recipe.model, 1, 8))
    save_model(tmp_path / "run", model, recipe, (1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    for loaded in (from_pretrained(tmp_path / "run"), load_model(tmp_path / "run")):
        torch.testing.assert_close(loaded(x)[1], model(x)[1], rtol=0, atol=0)
    # and a run's model shares like any other
    again = from_pretrained(save_pretrained(from_pretrained(tmp_path / "run"), tmp_path / "shared"))
    torch.testing.assert_close(again(x)[0], model(x)[0], rtol=0, atol=0)


def test_bad_folders_get_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="^path: .* is not a folder"):
        from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="^path: .* is not a contrastkit model folder \\(no config.json\\)"):
        from_pretrained(tmp_path / "empty")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="^path: .* is not a contrastkit model folder \\(config.json format None"):
        from_pretrained(hf)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="^path: .* is not valid JSON"):
        from_pretrained(tmp_path / "junk")

    good = save_pretrained(image_model(), tmp_path / "good")
    spec = json.loads((good / "config.json").read_text())
    state = load_file(str(good / "model.safetensors"))

    def variant(name, config=spec, weights=state):
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(json.dumps(config))
        if weights is not None:
            save_file(weights, str(d / "model.safetensors"))
        return d

    with pytest.raises(ValueError, match="^path: .* has config.json but no model.safetensors"):
        from_pretrained(variant("noweights", weights=None))
    missing = {k: v for k, v in state.items() if k != "projector.net.0.weight"}
    with pytest.raises(ValueError, match="^path: model.safetensors lacks 1 weight.*'projector.net.0.weight'"):
        from_pretrained(variant("missing", weights=missing))
    with pytest.raises(ValueError, match="^path: model.safetensors has 1 weight.*'extra'"):
        from_pretrained(variant("extra", weights=state | {"extra": torch.zeros(1)}))
    wrong = json.loads(json.dumps(spec))
    wrong["model"]["kwargs"]["projector"]["__module__"]["kwargs"]["out_dim"] = 6
    with pytest.raises(ValueError, match="^path: weight 'projector.net.6.weight' has shape \\(5, 10\\)"):
        from_pretrained(variant("shape", config=wrong))
    unknown = json.loads(json.dumps(spec))
    unknown["model"]["type"] = "os.system"
    with pytest.raises(ValueError, match="^path: config.json names the model type 'os.system', which is not"):
        from_pretrained(variant("unknown", config=unknown))
    badargs = json.loads(json.dumps(spec))
    badargs["model"]["kwargs"]["encoder"]["__module__"]["kwargs"]["widths"] = []
    with pytest.raises(ValueError, match="^path: config.json arguments for 'small_cnn' at model.encoder do not"):
        from_pretrained(variant("badargs", config=badargs))
    d = variant("notsafetensors", weights=None)
    (d / "model.safetensors").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match="^path: .* is not a readable safetensors file"):
        from_pretrained(d)
    with pytest.raises(ValueError, match="^encoder: the saved model has no unregistered part"):
        from_pretrained(good, encoder=PlainEncoder)


def test_encode_inputs_batches_and_progress(capsys):
    model = image_model()
    model.train()
    x = torch.rand(10, 3, 8, 8)
    model.eval()
    ref = model.encoder(x)
    model.train()
    out = encode(model, x, batch_size=3, progress=True)
    assert model.training  # flag restored
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    assert "10/10" in capsys.readouterr().err
    torch.testing.assert_close(encode(model, x.numpy()), ref, rtol=0, atol=1e-6)
    ds = torch.utils.data.TensorDataset(x, torch.arange(10))
    torch.testing.assert_close(encode(model, ds, batch_size=4), ref, rtol=0, atol=1e-6)
    split = ck.vision.images_from_numpy(x.numpy())
    torch.testing.assert_close(encode(model, split), ref, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="^x: expected a non-empty batch"):
        encode(model, x[:0])
    with pytest.raises(ValueError, match="^batch_size: "):
        encode(model, x, batch_size=0)
    with pytest.raises(TypeError, match="^x: expected a tensor"):
        encode(model, "images")
    with pytest.raises(ValueError, match="^x: the data set has no samples"):
        encode(model, torch.utils.data.TensorDataset(x[:0]))


def test_top_level_names():
    assert ck.save_pretrained is save_pretrained and ck.from_pretrained is from_pretrained and ck.encode is encode


def test_trained_lightning_method_saves_its_network(tmp_path):
    from contrastkit.losses import InfoNCE
    from contrastkit.methods import SimCLR

    model = image_model()
    method = SimCLR(model, InfoNCE(0.2), lambda v: v, torch.rand(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))
    loaded = from_pretrained(save_pretrained(method, tmp_path / "simclr"))
    x = torch.rand(3, 3, 8, 8)
    assert type(loaded) is EncoderWithHead
    torch.testing.assert_close(loaded(x)[1], model(x)[1], rtol=0, atol=0)
