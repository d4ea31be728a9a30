"""The training base: batch sources, the step's rows and seed, optimizer set-up, and fit."""

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from contrastkit.training import InMemorySource, LoaderSource, StepModule, as_source, batch_rows, fit, make_trainer


class _Mean(StepModule):
    """Loss = mean squared output; records what each step received."""

    def __init__(self, source, **kwargs):
        super().__init__(source, **kwargs)
        self.lin = nn.Linear(3, 1)
        self.seen: list[Tensor] = []
        self.noise: list[Tensor] = []

    def loss_terms(self, batch, step):
        x = batch["x"] if isinstance(batch, dict) else batch[0]
        self.seen.append(x.detach().clone())
        self.noise.append(torch.rand(1))
        out = self.lin(x).pow(2).mean()
        return {"loss": out, "half": out.detach() / 2}


def test_in_memory_source_takes_rows_and_checks_input():
    x, y = torch.arange(12.0).view(6, 2), torch.arange(6)
    src = InMemorySource(x=x, y=y, absent=None)
    assert len(src) == 6 and src.indexed
    got = src.take(torch.tensor([4, 1]))
    assert set(got) == {"x", "y"} and torch.equal(got["x"], x[[4, 1]]) and torch.equal(got["y"], y[[4, 1]])
    assert "x" not in src.state_dict()  # non-persistent: never written to checkpoints
    with pytest.raises(ValueError, match="equal first dimensions"):
        InMemorySource(x=x, y=torch.arange(5))
    with pytest.raises(TypeError, match="x: expected a tensor"):
        InMemorySource(x=[1, 2])
    with pytest.raises(TypeError, match="source: expected"):
        as_source([1, 2, 3])


def test_step_module_trains_the_step_rows_with_a_per_step_seed():
    x = torch.randn(20, 3)
    m = _Mean(InMemorySource(x=x), batch_size=8, lr=0.1, seed=4)
    fit(m, max_steps=3)
    assert not m.training
    for step, seen in enumerate(m.seen):
        torch.testing.assert_close(seen, x[batch_rows(step, 20, 8, 4)])
    again = _Mean(InMemorySource(x=x), batch_size=8, lr=0.1, seed=4)
    fit(again, max_steps=3)
    assert [float(a) for a in m.noise] == [float(b) for b in again.noise]  # reseeded per step: replayable
    assert len({float(a) for a in m.noise}) == 3


def test_loader_source_feeds_lightning_batches_unchanged():
    x = torch.randn(12, 3)
    loader = DataLoader(TensorDataset(x), batch_size=4, shuffle=False)
    m = _Mean(loader, batch_size=4, lr=0.1)
    assert isinstance(m.data, LoaderSource) and not m.data.indexed
    fit(m, max_epochs=1)
    assert len(m.seen) == 3
    torch.testing.assert_close(torch.cat(m.seen), x)


def test_optimizer_and_errors_are_named():
    m = _Mean(InMemorySource(x=torch.randn(4, 3)), batch_size=2, lr=0.5, weight_decay=0.1, optimizer="adam")
    opt = m.configure_optimizers()
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 0.5 and opt.defaults["weight_decay"] == 0.1
    assert isinstance(_Mean(InMemorySource(x=torch.randn(4, 3)), batch_size=2, lr=1.0).configure_optimizers(),
                      torch.optim.AdamW)
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        _Mean(InMemorySource(x=torch.randn(4, 3)), batch_size=2, lr=1.0, optimizer="rmsprop")
    with pytest.raises(ValueError, match="batch_size: expected an integer >= 1"):
        _Mean(InMemorySource(x=torch.randn(4, 3)), batch_size=0, lr=1.0)
    with pytest.raises(ValueError, match="max_steps: a module fed by step"):
        fit(m)
    with pytest.raises(ValueError, match="max_steps: expected an integer >= 1"):
        fit(m, max_steps=True)
    with pytest.raises(TypeError, match="settings: expected a mapping"):
        make_trainer(["cpu"])
    trainer = make_trainer({"max_steps": 2}, max_steps=5)
    assert trainer.max_steps == 5  # the call's overrides win over the recipe section
