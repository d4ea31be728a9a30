"""Trainer ergonomics: warm-up + cosine schedule, LARS, gradient accumulation, W&B guard, best checkpoint."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.losses import InfoNCE
from contrastkit.methods.momentum import cosine_momentum
from contrastkit.training import LARS, InMemorySource, StepModule, best_checkpoint, fit, lars_param_groups
from contrastkit.training.schedules import warmup_cosine
from contrastkit.training.steps import batch_rows


def test_warmup_cosine_hand_values():
    # T = 10, W = 2: warm-up 1/2, 1; cosine over 8 steps; final 0.1.
    assert warmup_cosine(0, 10, 2) == pytest.approx(0.5)
    assert warmup_cosine(1, 10, 2) == pytest.approx(1.0)
    assert warmup_cosine(2, 10, 2) == pytest.approx(1.0)
    assert warmup_cosine(6, 10, 2) == pytest.approx(0.5)  # half-way: (1 + cos(pi/2)) / 2
    assert warmup_cosine(4, 10, 2, 0.1) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2)
    assert warmup_cosine(10, 10, 2, 0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_cosine(0, 5, 5)
    with pytest.raises(ValueError, match="final_factor"):
        warmup_cosine(0, 5, 1, 2.0)


def test_byol_momentum_schedule_hand_values():
    assert cosine_momentum(0, 100) == pytest.approx(0.996)
    assert cosine_momentum(50, 100) == pytest.approx(0.998)
    assert cosine_momentum(100, 100) == pytest.approx(1.0)
    assert cosine_momentum(25, 100) == pytest.approx(1 - 0.004 * (math.cos(math.pi / 4) + 1) / 2)


def test_lars_step_against_hand_computation():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
        lin.bias.fill_(1.0)
    lin.weight.grad = torch.tensor([[0.6, 0.8]])
    lin.bias.grad = torch.tensor([2.0])
    opt = LARS(lars_param_groups(lin, weight_decay=0.1), lr=0.5, momentum=0.9, eta=0.01)
    opt.step()
    g = torch.tensor([0.6, 0.8]) + 0.1 * torch.tensor([3.0, 4.0])  # (0.9, 1.2), norm 1.5
    trust = 0.01 * 5.0 / 1.5
    assert lin.weight.detach()[0] == pytest.approx(torch.tensor([3.0, 4.0]) - 0.5 * trust * g, abs=1e-6)
    assert lin.bias.item() == pytest.approx(1.0 - 0.5 * 2.0)  # excluded: no decay, no trust ratio
    # second step: momentum on the velocity
    v_bias = 0.5 * 2.0
    lin.bias.grad = torch.tensor([2.0])
    lin.weight.grad = torch.tensor([[0.0, 0.0]])
    opt.step()
    assert lin.bias.item() == pytest.approx(1.0 - v_bias - (0.9 * v_bias + 0.5 * 2.0))


def test_lars_bad_input():
    with pytest.raises(ValueError, match="momentum"):
        LARS(nn.Linear(2, 1).parameters(), lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        LARS(nn.Linear(2, 1).parameters(), lr=0.0)


class Tiny(StepModule):
    """InfoNCE between two fixed linear maps of the batch's rows (the negatives are the batch)."""

    def __init__(self, x: torch.Tensor, **kwargs):
        super().__init__(InMemorySource(x=x), **kwargs)
        torch.manual_seed(0)
        self.net = nn.Linear(x.shape[1], 4)
        self.loss_fn = InfoNCE(temperature=0.5)

    def batch_loss(self, x: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.net(x), self.net(x.flip(1)))

    def loss_terms(self, batch, step):
        return {"loss": self.batch_loss(batch["x"])}


def _one_step_params(module: Tiny, loss: torch.Tensor) -> torch.Tensor:
    grads = torch.autograd.grad(loss, list(module.net.parameters()))
    return torch.cat([(p - module.lr * g).flatten() for p, g in zip(module.net.parameters(), grads, strict=True)])


def test_accumulation_is_the_mean_of_micro_batch_losses_not_a_big_batch():
    x = torch.randn(32, 6, generator=torch.Generator().manual_seed(1))
    kw = dict(batch_size=4, lr=0.5, optimizer="sgd", optimizer_momentum=0.0)
    ref = Tiny(x, **kw)
    r0, r1 = batch_rows(0, 32, 4, 0), batch_rows(1, 32, 4, 0)
    mean_loss = (ref.batch_loss(x[r0]) + ref.batch_loss(x[r1])) / 2
    want_mean = _one_step_params(ref, mean_loss)
    want_big = _one_step_params(ref, ref.batch_loss(x[torch.cat([r0, r1])]))
    module = fit(Tiny(x, accumulate_grad_batches=2, **kw), max_steps=1)
    got = torch.cat([p.detach().flatten() for p in module.net.parameters()])
    assert torch.allclose(got, want_mean, atol=1e-6)
    assert not torch.allclose(got, want_big, atol=1e-4)


def test_warmup_cosine_schedule_runs_in_the_trainer():
    x = torch.randn(32, 6)
    module = Tiny(x, batch_size=8, lr=0.1, optimizer="lars", lr_schedule="warmup_cosine", warmup_steps=2)
    seen = []

    from lightning.pytorch.callbacks import Callback

    class Record(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append(trainer.optimizers[0].param_groups[0]["lr"])

    fit(module, max_steps=5, callbacks=[Record()])
    assert seen == pytest.approx([0.1 * warmup_cosine(t, 5, 2) for t in range(5)])


def test_bad_trainer_settings_name_the_argument():
    x = torch.randn(8, 6)
    with pytest.raises(ValueError, match="optimizer"):
        Tiny(x, batch_size=4, lr=0.1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr_schedule"):
        Tiny(x, batch_size=4, lr=0.1, lr_schedule="step")
    with pytest.raises(ValueError, match="accumulate_grad_batches"):
        Tiny(x, batch_size=4, lr=0.1, accumulate_grad_batches=0)
    with pytest.raises(ValueError, match="mode"):
        best_checkpoint("/tmp", "train_loss", mode="up")


def test_best_checkpoint_by_monitored_metric(tmp_path):
    x = torch.randn(32, 6)
    from lightning.pytorch.callbacks import Callback

    losses = []

    class Record(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            losses.append(float(trainer.callback_metrics["train_loss"]))

    cbs = best_checkpoint(str(tmp_path), "train_loss", mode="min")
    fit(Tiny(x, batch_size=8, lr=0.05), max_steps=6, callbacks=[Record(), *cbs], enable_checkpointing=True)
    assert (tmp_path / "best.ckpt").is_file() and (tmp_path / "last.ckpt").is_file()
    assert float(cbs[0].best_model_score) == pytest.approx(min(losses))


def test_wandb_logger_offline_or_clear_error(tmp_path):
    from contrastkit.training import wandb_logger

    try:
        import wandb  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"contrastkit\[wandb\]"):
            wandb_logger(save_dir=str(tmp_path))
        pytest.skip("wandb not installed: only the import guard is tested")
    import os

    os.environ.setdefault("WANDB_SILENT", "true")
    logger = wandb_logger(save_dir=str(tmp_path))
    x = torch.randn(32, 6)
    fit(Tiny(x, batch_size=8, lr=0.05), max_steps=3, logger=logger, log_every_n_steps=1)
    logger.experiment.finish()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].rglob("*.wandb"))  # an offline run, written locally, nothing uploaded


def test_recipe_keys_drive_the_pipeline(tmp_path):
    from contrastkit.pipeline.recipe import RecipeError, parse_recipe
    from contrastkit.pipeline.train import train

    tiny = {
        "name": "tiny", "seed": 3, "data": {"dataset": "digits", "augment": "canvas"},
        "model": {"encoder": "small_cnn", "encoder_kwargs": {"widths": [8, 16]}, "projector_out_dim": 16},
        "method": {"name": "simclr", "loss": "infonce", "loss_kwargs": {"temperature": 0.2}},
        "optim": {"lr": 0.3, "optimizer": "lars", "schedule": "warmup_cosine", "warmup_steps": 2,
                  "weight_decay": 1.0e-6},
        "trainer": {"max_steps": 4, "batch_size": 16, "checkpoint_every_n_steps": 4, "log_every_n_steps": 1,
                    "accumulate_grad_batches": 2, "monitor": "train_loss"},
        "evaluate": {"baselines": False},
    }
    recipe = parse_recipe(tiny)
    train(recipe, tmp_path / "run", progress=False, evaluate=False)
    assert (tmp_path / "run" / "checkpoints" / "best.ckpt").is_file()
    with pytest.raises(RecipeError, match="optim.optimizer"):
        parse_recipe(tiny | {"optim": {"optimizer": "rmsprop"}})
    with pytest.raises(RecipeError, match="trainer.accumulate_grad_batches"):
        parse_recipe(tiny | {"trainer": {"accumulate_grad_batches": 0}})
    with pytest.raises(RecipeError, match="optim.warmup: unknown key"):
        parse_recipe(tiny | {"optim": {"warmup": 3}})
