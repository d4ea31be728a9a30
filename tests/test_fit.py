"""``contrastkit.fit``: every data kind trains, loader batches are used, bad input is one line naming the argument."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import contrastkit as ck
from contrastkit.losses import InfoNCE
from contrastkit.methods import MoCo, SimCLR, SupCon, TS2Vec
from contrastkit.training.steps import batch_rows


def _encoder(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 12), nn.ReLU(), nn.Linear(12, 6))


def _images(n: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def _weights(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


class _Recorder(nn.Module):
    """An encoder that records every input batch it sees in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _encoder()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x.detach().clone())
        return self.net(x)


def _identity_views(x: torch.Tensor) -> torch.Tensor:
    return x


@pytest.mark.parametrize("kind", ["tensor", "dataset", "loader"])
def test_every_data_kind_trains_and_changes_the_weights(kind):
    x = _images()
    data = {"tensor": x, "dataset": TensorDataset(x), "loader": DataLoader(TensorDataset(x), batch_size=8)}[kind]
    encoder = _encoder()
    before = _weights(encoder)
    model = ck.fit(SimCLR(encoder=encoder, loss=InfoNCE(0.2), batch_size=8), data=data, max_steps=3)
    assert not model.training and model.model.encoder is encoder
    assert not torch.equal(_weights(encoder), before)
    z = model.encode(x)
    assert z.shape == (32, 6) and torch.isfinite(z).all()


def test_a_dataloader_batch_is_used_exactly_as_given():
    """The views of step t are augment(batch_t): with identity views the encoder sees the loader's batches."""
    x = _images(24)
    loader = DataLoader(TensorDataset(x), batch_size=6, shuffle=False)
    enc = _Recorder()
    ck.fit(SimCLR(encoder=enc, loss=InfoNCE(0.2)), data=loader, max_steps=5, augment=_identity_views)
    # bind sizes the head with one eval-mode call (not recorded); then two views per batch, in loader order,
    # a second epoch after the fourth batch
    expected = [x[0:6], x[6:12], x[12:18], x[18:24], x[0:6]]
    assert len(enc.seen) == 5
    for seen, batch in zip(enc.seen, expected, strict=True):
        torch.testing.assert_close(seen, torch.cat([batch, batch]))


def test_in_memory_rows_are_the_step_indexed_rows():
    x = _images(24)
    enc = _Recorder()
    ck.fit(SimCLR(encoder=enc, loss=InfoNCE(0.2), seed=3), data=x, max_steps=4, batch_size=6,
           augment=_identity_views)
    for step, seen in enumerate(enc.seen):
        rows = batch_rows(step, 24, 6, 3)
        torch.testing.assert_close(seen, torch.cat([x[rows], x[rows]]))


def test_supcon_uses_the_labels_of_a_dataloader_and_of_labels():
    x, y = _images(), torch.arange(32) % 4
    for data, labels in ((DataLoader(TensorDataset(x, y), batch_size=8), None), (x, y), (TensorDataset(x), y)):
        model = ck.fit(SupCon(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=8), data=data, labels=labels,
                       max_steps=2)
        assert torch.isfinite(model.encode(x)).all()


def test_moco_and_ts2vec_train_from_data():
    x = _images()
    moco = ck.fit(MoCo(encoder=_encoder(), loss=InfoNCE(0.2, mode="a_to_b"), queue_size=16), data=TensorDataset(x),
                  max_steps=3, batch_size=8)
    assert len(moco.queue) == 16  # 3 steps x 8 keys, capped at the queue size
    from contrastkit.timeseries import TSEncoder

    series = torch.randn(16, 2, 20, generator=torch.Generator().manual_seed(0))
    ts = ck.fit(TS2Vec(TSEncoder(2, 8, 8, 1)), data=series, max_steps=2, batch_size=4)
    assert ts.encode(series).shape == (16, 8)


def test_run_folder_loads_and_resume_matches_an_uninterrupted_run(tmp_path):
    x = _images()

    def method():
        return SimCLR(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=8, seed=5)

    full = ck.fit(method(), data=x, max_steps=6)
    ck.fit(method(), data=x, max_steps=3, output=tmp_path / "run")
    resumed = ck.fit(method(), data=x, max_steps=6, output=tmp_path / "run", resume=True)
    torch.testing.assert_close(_weights(resumed.model), _weights(full.model))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["metadata"]["fit"]["method"] == "SimCLR" and config["metadata"]["fit"]["data"] == "tensor"
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    loaded = ck.from_pretrained(tmp_path / "run")  # a Sequential of torch layers needs no encoder=
    torch.testing.assert_close(loaded.encode(x), full.encode(x))


class _Mixed(Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.rand(3, 8, 8) if i % 2 else torch.rand(3, 6, 6)


class _Empty(Dataset):
    def __len__(self) -> int:
        return 0

    def __getitem__(self, i: int) -> torch.Tensor:
        raise IndexError(i)


class _Strings(Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> str:
        return f"image-{i}.png"


def _mixed_loader() -> DataLoader:
    return DataLoader(_Mixed(), batch_size=4)


BAD = [
    ("empty-tensor", dict(data=torch.empty(0, 3, 8, 8)), "data:"),
    ("empty-dataset", dict(data=_Empty()), "data: the data set has no samples"),
    ("empty-loader", dict(data=DataLoader(_Empty(), batch_size=2)), "data: the DataLoader's data set has no samples"),
    ("mixed-sizes-dataset", dict(data=_Mixed(), batch_size=4), "data: samples of different shapes"),
    ("mixed-sizes-loader", dict(data="<mixed-loader>"), "data: samples of different shapes"),
    ("labels-short", dict(data=_images(), labels=torch.zeros(10, dtype=torch.long)), "labels: expected 32 labels"),
    ("labels-2d", dict(data=_images(), labels=torch.zeros(32, 2)), "labels: expected 32 labels"),
    ("labels-with-loader", dict(data=DataLoader(TensorDataset(_images()), batch_size=4), labels=torch.zeros(32)),
     "labels: a DataLoader brings its own labels"),
    ("not-data", dict(data="images.npy"), "data: expected a tensor"),
    ("dataset-of-strings", dict(data=_Strings(), batch_size=4), "data: expected batches x or (x, y) of tensors"),
    ("loader-of-dicts", dict(data=DataLoader([{"x": torch.rand(3, 8, 8)}] * 4, batch_size=2)),
     "data: expected batches x or (x, y) of tensors, got dict"),
    ("no-data", dict(), "data: SimCLR has no training data"),
    ("int-images", dict(data=torch.zeros(8, 3, 8, 8, dtype=torch.uint8)), "data: expected floating-point"),
    ("batch-too-large", dict(data=_images(), batch_size=64), "batch_size: 64 exceeds the 32 samples"),
    ("batch-size-one", dict(data=_images(), batch_size=1), "batch_size: expected an integer >= 2"),
    ("batch-size-with-loader", dict(data=DataLoader(TensorDataset(_images()), batch_size=4), batch_size=8),
     "batch_size: a DataLoader sets its own"),
    ("max-steps-zero", dict(data=_images(), max_steps=0), "max_steps: expected an integer >= 1"),
    ("augment-not-callable", dict(data=_images(), augment=3), "augment: expected a callable"),
    ("vectors-without-augment", dict(data=torch.rand(16, 5), batch_size=8),
     "augment: SimCLR contrasts augmented views"),
    ("seed-negative", dict(data=_images(), seed=-1), "seed: expected an integer >= 0"),
    ("lr-nan", dict(data=_images(), lr=float("nan")), "lr: expected a finite number > 0"),
    ("resume-without-output", dict(data=_images(), resume=True), "resume: needs the run folder"),
]


@pytest.mark.parametrize(("case", "kwargs", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_one_line_naming_the_argument(case, kwargs, expected):
    kwargs = dict(kwargs)
    if kwargs.get("data") == "<mixed-loader>":
        kwargs["data"] = _mixed_loader()
    kwargs.setdefault("max_steps", 1)
    encoder = nn.Sequential(nn.Flatten(), nn.LazyLinear(4)) if case == "vectors-without-augment" else _encoder()
    with pytest.raises((TypeError, ValueError)) as info:
        ck.fit(SimCLR(encoder=encoder, loss=InfoNCE(0.2)), **kwargs)
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_supcon_without_labels_names_labels():
    with pytest.raises(ValueError, match=r"^labels: SupCon needs a label per sample"):
        ck.fit(SupCon(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=8), data=_images(), max_steps=1)
    with pytest.raises(ValueError, match=r"^labels: SupCon needs a label per sample"):
        ck.fit(SupCon(encoder=_encoder(), loss=InfoNCE(0.2)), data=DataLoader(TensorDataset(_images()), batch_size=8),
               max_steps=1)


def test_encoder_with_unpooled_output_names_encoder():
    with pytest.raises(ValueError, match=r"^encoder: expected \(batch, features\) outputs, got \(2, 4, 6, 6\)"):
        ck.fit(SimCLR(encoder=nn.Conv2d(3, 4, 3), loss=InfoNCE(0.2)), data=_images(), max_steps=1, batch_size=8)


def test_samples_the_encoder_cannot_take_name_data():
    with pytest.raises(ValueError, match=r"^data: the encoder cannot take samples of shape \(1, 8, 8\)"):
        ck.fit(SimCLR(encoder=_encoder(), loss=InfoNCE(0.2)), data=torch.rand(16, 1, 8, 8), max_steps=1, batch_size=8)
    from contrastkit.timeseries import TSEncoder

    with pytest.raises(ValueError, match=r"^data: TS2Vec expects series \(n, 2, length\)"):
        ck.fit(TS2Vec(TSEncoder(2, 8, 8, 1)), data=torch.rand(16, 20), max_steps=1, batch_size=4)


def test_a_method_holding_its_own_data_refuses_data():
    from contrastkit.methods import CLIP
    from contrastkit.multimodal.text import BagOfWordsEncoder

    clip = CLIP(_encoder(), _images(8), torch.arange(8) % 2, image_feature_dim=6, embed_dim=4,
                text_encoder=BagOfWordsEncoder(5, 4, 4), caption_tokens=torch.tensor([[2, 3], [3, 4]]), batch_size=4)
    with pytest.raises(TypeError, match=r"^data: CLIP holds its own training data"):
        ck.fit(clip, data=_images(8), max_steps=1)
    before = _weights(clip.image_head)
    ck.fit(clip, max_steps=2)
    assert not torch.equal(_weights(clip.image_head), before)


def test_method_arguments_are_checked():
    with pytest.raises(ValueError, match=r"^encoder: give exactly one of model="):
        SimCLR(loss=InfoNCE(0.2))
    with pytest.raises(TypeError, match=r"^loss: expected a contrastkit loss"):
        SimCLR(encoder=_encoder())
    with pytest.raises(TypeError, match=r"^method: expected a contrastkit method"):
        ck.fit(_encoder(), data=_images(), max_steps=1)


def test_existing_checkpoints_are_not_overwritten(tmp_path):
    ck.fit(SimCLR(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=8), data=_images(), max_steps=1, output=tmp_path)
    with pytest.raises(FileExistsError, match=r"^output: .* already holds checkpoints"):
        ck.fit(SimCLR(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=8), data=_images(), max_steps=1,
               output=tmp_path)
    with pytest.raises(ValueError, match=r"^resume: .* other settings"):
        ck.fit(SimCLR(encoder=_encoder(), loss=InfoNCE(0.2), batch_size=16), data=_images(), max_steps=2,
               output=tmp_path, resume=True)


def test_a_folder_that_is_not_a_contrastkit_model_names_path(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=r"^path: .* is not a contrastkit model folder"):
        ck.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"^path: .* is not a contrastkit model folder"):
        ck.from_pretrained(tmp_path / "..")
