"""BYOL, SimSiam, Barlow Twins, VICReg and DINO as training methods."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.losses.ssl import NegativeCosine
from contrastkit.methods.barlow_twins import BarlowTwins
from contrastkit.methods.byol import BYOL
from contrastkit.methods.dino import DINO, dino_loss, teacher_temperature, update_center
from contrastkit.methods.simsiam import SimSiam
from contrastkit.methods.vicreg import VICReg
from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.training import fit


def _model(out=8):
    enc = _Enc()
    return EncoderWithHead(enc, nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, out)))


class _Enc(nn.Module):
    """Conv + global max-pool: any input side (the DINO local crops are smaller)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)

    def forward(self, x):
        return self.conv(x).amax(dim=(2, 3))


def _noise(x):
    return x + 0.1 * torch.randn_like(x)


def _data(n=32):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 12, 12, generator=g), torch.arange(n) % 4


def _params(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()])


def test_byol_target_is_the_ema_of_the_online_net():
    torch.manual_seed(0)
    x, y = _data()
    m = BYOL(_model(), None, _noise, x, y, batch_size=8, lr=0.05, base_momentum=0.9)
    online0 = _params(m.model)
    assert torch.equal(_params(m.target.target), online0)
    fit(m, max_steps=2)
    online1 = _params(m.model)
    # The target moved once, before step 1's forward pass, with BYOL's tau(1) for T = 2, from online0
    # towards the online weights after step 0 (a second run stopped after one step gives those).
    tau1 = 1 - (1 - 0.9) * (math.cos(math.pi * 1 / 2) + 1) / 2
    torch.manual_seed(0)
    m2 = BYOL(_model(), None, _noise, x, y, batch_size=8, lr=0.05, base_momentum=0.9)
    fit(m2, max_steps=1)
    after_step0 = _params(m2.model)
    want = tau1 * online0 + (1 - tau1) * after_step0
    assert torch.allclose(_params(m.target.target), want, atol=1e-6)
    assert not torch.allclose(online1, after_step0)
    assert all(not p.requires_grad for p in m.target.target.parameters())


def test_simsiam_stop_gradient_and_refuses_a_loss_without_it():
    torch.manual_seed(0)
    x, y = _data()
    m = SimSiam(_model(), None, _noise, x, y, batch_size=8, lr=0.05)
    batch = m.data.take(torch.arange(8))
    z = m.model(batch["images"])[1]
    z.retain_grad()
    p = m.predictor(z)
    loss = m.loss_fn(p, z)
    loss.backward()
    # the target branch is detached: z's gradient comes only through the predictor
    zz = z.detach().requires_grad_(True)
    ref = NegativeCosine(form="simsiam", stop_gradient=False)(m.predictor(zz), zz.detach())
    (g,) = torch.autograd.grad(ref, zz)
    assert torch.allclose(z.grad, g, atol=1e-6)
    with pytest.raises(ValueError, match="stop_gradient"):
        SimSiam(_model(), NegativeCosine(form="simsiam", stop_gradient=False), _noise, x, y, batch_size=8)
    fit(m, max_steps=2)


@pytest.mark.parametrize("cls", [BarlowTwins, VICReg])
def test_barlow_and_vicreg_train(cls):
    torch.manual_seed(0)
    x, y = _data()
    m = cls(_model(), None, _noise, x, y, batch_size=16, lr=0.01)
    before = _params(m.model)
    fit(m, max_steps=2)
    assert not torch.allclose(before, _params(m.model))
    with pytest.raises(ValueError, match="loss"):
        cls(_model(), NegativeCosine(), _noise, x, y, batch_size=16)


def test_teacher_temperature_hand_values():
    assert teacher_temperature(0, 10) == pytest.approx(0.04)
    assert teacher_temperature(5, 10) == pytest.approx(0.055)
    assert teacher_temperature(10, 10) == pytest.approx(0.07)
    assert teacher_temperature(3, 0) == pytest.approx(0.07)
    with pytest.raises(ValueError, match="warmup_steps"):
        teacher_temperature(0, -1)


def test_dino_center_update_and_loss_hand_values():
    c = torch.tensor([1.0, 0.0])
    t = [torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([[4.0, 2.0], [2.0, 0.0]])]
    # batch mean over both crops: (2+0+4+2)/4 = 2, (0+2+2+0)/4 = 1; 0.9 c + 0.1 mean
    assert torch.allclose(update_center(c, t, 0.9), torch.tensor([0.9 + 0.2, 0.1]))
    s = [torch.zeros(2, 2), torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [0.0, 1.0]])]
    got = dino_loss(s, t, c, student_temp=1.0, teacher_temp=1.0)
    total = 0.0
    for i, ti in enumerate(t):
        q = torch.softmax(ti - c, dim=1)
        for v, sv in enumerate(s):
            if v != i:
                total += float(-(q * torch.log_softmax(sv, dim=1)).sum(1).mean())
    assert got.item() == pytest.approx(total / 4)


def test_dino_trains_with_multicrop_and_updates_center():
    torch.manual_seed(0)
    x, y = _data()
    m = DINO(_model(out=12), None, _noise, x, y, batch_size=8, lr=0.01, n_local_crops=2, local_size=6,
             teacher_temp_warmup_steps=2)
    assert m.crops(x[:8], 0)[2].shape[-1] == 6
    fit(m, max_steps=3)
    assert m.center.abs().sum() > 0
    with pytest.raises(ValueError, match="local_size"):
        DINO(_model(), None, _noise, x, y, batch_size=8, local_size=12)


@pytest.mark.parametrize("name", ["BYOL", "SimSiam", "BarlowTwins", "VICReg", "DINO"])
def test_methods_train_through_ck_fit_from_an_encoder_alone(name):
    import contrastkit as ck

    torch.manual_seed(0)
    x, _ = _data(24)
    kwargs = {"local_size": 6} if name == "DINO" else {}
    method = getattr(ck.methods, name)(encoder=_Enc(), batch_size=8, **kwargs)
    model = ck.fit(method, data=x, max_steps=2, augment=_noise)
    assert model is not None


def test_shipped_recipes_validate_and_train_through_the_pipeline(tmp_path):
    from contrastkit.pipeline.recipe import load_recipe
    from contrastkit.pipeline.train import train

    for name in ("byol", "simsiam", "barlow_twins", "vicreg", "dino"):
        recipe = load_recipe(f"src/contrastkit/recipes/{name}-digits.yaml")
        assert recipe.method.name == name
    for name in ("byol", "dino"):
        recipe = load_recipe(f"src/contrastkit/recipes/{name}-digits.yaml", [
            "trainer.max_steps=2", "trainer.batch_size=16", "data.dataset=digits",
            "model.encoder_kwargs={widths: [8, 16]}", "trainer.checkpoint_every_n_steps=2"])
        train(recipe, tmp_path / name, progress=False, evaluate=False)
        assert (tmp_path / name / "model.safetensors").is_file()


def test_dino_local_crops_with_a_fixed_size_encoder_is_one_named_error():
    import contrastkit as ck

    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16, 32), torch.nn.ReLU())
    with pytest.raises(ValueError, match="encoder: DINO's local crops are 10x10"):
        ck.fit(ck.methods.DINO(encoder=encoder), data=torch.rand(64, 1, 16, 16), max_steps=2, batch_size=16)
