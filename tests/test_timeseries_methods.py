"""A few training steps of each Lightning module (CPU, tiny) -- they run and change the encoder."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from contrastkit.methods.autotcl import AutoTCL
from contrastkit.methods.comet import COMET, GroupBatchSampler
from contrastkit.methods.ts_contrastive import TS2Vec, TSSimCLR
from contrastkit.mining.dbpm import DBPM
from contrastkit.timeseries import TSEncoder


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _fit(model, loader, epochs=1):
    before = [p.detach().clone() for p in model.encoder.parameters()]
    L.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, enable_checkpointing=False, logger=False,
              enable_progress_bar=False, enable_model_summary=False).fit(model, loader)
    return any(not torch.equal(a, b) for a, b in zip(before, model.encoder.parameters(), strict=True))


def test_ts2vec_and_simclr_dbpm():
    L.seed_everything(0, verbose=False)
    x = torch.randn(24, 2, 32)
    loader = DataLoader(TensorDataset(x, torch.arange(24)), batch_size=8, shuffle=True)
    assert _fit(TS2Vec(TSEncoder(2, 8, 8, 1)), loader)
    miner = DBPM(24, max_epochs=3, warmup=2)
    assert _fit(TSSimCLR(TSEncoder(2, 8, 8, 1, mask_mode="all_true"), head_hidden=8, head_out=4,
                         miner=miner), loader, epochs=3)
    assert torch.isfinite(miner.memory[:, :3]).all() and miner.active


def test_autotcl_learned_and_fixed():
    L.seed_everything(0, verbose=False)
    loader = DataLoader(TensorDataset(torch.randn(16, 1, 40)), batch_size=8)
    model = AutoTCL(TSEncoder(1, 8, 8, 1, mask_mode="all_true"), local_k=4)
    aug_before = [p.detach().clone() for p in model.aug_net.parameters()]
    assert _fit(model, loader)
    assert any(not torch.equal(a, b) for a, b in zip(aug_before, model.aug_net.parameters(), strict=True))
    assert model.encode(torch.randn(3, 1, 40)).shape == (3, 8)
    assert _fit(AutoTCL(TSEncoder(1, 8, 8, 1, mask_mode="all_true"), augmentation="masking",
                        local_k=4), loader)


def test_comet_module():
    L.seed_everything(0, verbose=False)
    x = torch.randn(24, 2, 20)
    trial = torch.arange(24) // 3
    patient = torch.arange(24) // 6
    loader = DataLoader(TensorDataset(x, trial, patient), batch_sampler=GroupBatchSampler(patient, 12))
    assert _fit(COMET(TSEncoder(2, 8, 8, 1)), loader)


def test_ts2vec_on_the_step_base_equals_the_hand_loop_bit_for_bit():
    """TS2Vec is a StepModule: bound series give step t the rows ``batch_rows(t, ...)`` and the crops and masks
    of ``manual_seed(step_seed(seed, t, rank))``, with AdamW (default weight decay); a hand loop over the
    same stream gives the same weights."""
    import contrastkit as ck
    from contrastkit.timeseries.losses import hierarchical_contrastive_loss, ts2vec_crop_pair
    from contrastkit.training import StepModule
    from contrastkit.training.steps import batch_rows, step_seed

    x = torch.randn(24, 2, 40, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    model = TS2Vec(TSEncoder(2, 8, 8, 1), batch_size=6, seed=5)
    assert isinstance(model, StepModule)
    torch.manual_seed(0)
    hand = TSEncoder(2, 8, 8, 1)
    ck.fit(model, data=x, max_steps=3, progress=False)
    opt = torch.optim.AdamW(hand.parameters(), lr=1e-3)
    hand.train()
    for t in range(3):
        rows = batch_rows(t, 24, 6, 5, 0, 1)
        torch.manual_seed(step_seed(5, t, 0))
        v1, v2, n = ts2vec_crop_pair(x[rows], min_length=2)
        loss = hierarchical_contrastive_loss(hand(v1)[:, -n:], hand(v2)[:, :n], alpha=0.5, temporal_unit=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for a, b in zip(model.encoder.parameters(), hand.parameters(), strict=True):
        assert torch.equal(a, b)
    assert model.series is not None and model.series.shape == (24, 2, 40)
