"""training.loop: a step function trained through training.fit equals the hand-written loop, bit for bit."""

import pytest
import torch
from torch import nn

from contrastkit.training.loop import fit_steps, optimizer_step


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 3))


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)


def _loss(net, x, y, rows):
    return nn.functional.cross_entropy(net(x[rows]), y[rows])


def test_fit_steps_equals_the_hand_loop_bit_for_bit():
    x, y = _data()
    # the hand loop: own row generator, dropout masks from the global RNG
    hand = _net().train()
    opt = torch.optim.AdamW(hand.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(5)
    torch.manual_seed(7)
    for _ in range(12):
        loss = _loss(hand, x, y, torch.randperm(40, generator=g)[:8])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after_hand = torch.rand(3)  # the global RNG stream after the loop

    net = _net().train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(5)
    seen = []

    def step(t):
        seen.append(t)
        return _loss(net, x, y, torch.randperm(40, generator=g)[:8])

    torch.manual_seed(7)
    out = fit_steps(net, step, opt, 12)
    assert out is net and not net.training and seen == list(range(12))
    assert torch.equal(torch.rand(3), after_hand)  # Lightning drew nothing from the global RNG
    for a, b in zip(hand.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_after_backward_runs_before_the_update():
    w = nn.Parameter(torch.ones(4, 2))
    opt = torch.optim.SGD([w], lr=0.5)

    def freeze_first_rows():
        w.grad[:2] = 0

    fit_steps(None, lambda t: (w ** 2).sum(), opt, 3, after_backward=freeze_first_rows)
    assert torch.equal(w.detach()[:2], torch.ones(2, 2))
    assert torch.all(w.detach()[2:] < 1)


def test_optimizer_step_is_zero_grad_backward_step():
    a, b = _net(), _net()
    x, y = _data()
    oa, ob = torch.optim.SGD(a.parameters(), lr=0.1), torch.optim.SGD(b.parameters(), lr=0.1)
    a.eval(), b.eval()
    for _ in range(3):
        oa.zero_grad()
        loss = _loss(a, x, y, torch.arange(10))
        loss.backward()
        oa.step()
        got = optimizer_step(ob, _loss(b, x, y, torch.arange(10)))
        assert not got.requires_grad and torch.equal(got, loss.detach())
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_arguments_are_named():
    w = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="steps: expected an integer >= 1"):
        fit_steps(None, lambda t: w.sum(), opt, 0)
    with pytest.raises(TypeError, match="step: expected a function"):
        fit_steps(None, 3, opt, 2)
    with pytest.raises(TypeError, match="optimizer: expected a torch.optim.Optimizer"):
        fit_steps(None, lambda t: w.sum(), [w], 2)
    with pytest.raises(ValueError, match="step: expected a scalar loss tensor"):
        fit_steps(None, lambda t: w * 2, opt, 2)


def test_bad_losses_and_optimizers_are_named_before_the_weights_change():
    w = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)
    for bad, name in ((float("nan"), "nan"), (float("inf"), "inf")):
        with pytest.raises(ValueError, match=rf"step: the loss at step 0 is not finite \({name}\)"):
            fit_steps(None, lambda t, bad=bad: w.sum() * bad, opt, 2)
        assert torch.equal(w.detach(), torch.ones(2))  # no update with a non-finite loss
    with pytest.raises(ValueError, match=r"step: expected a scalar loss tensor, got a tensor of shape \(2,\)"):
        fit_steps(None, lambda t: w * 2, opt, 2)
    with pytest.raises(ValueError, match="step: expected a scalar loss tensor, got NoneType"):
        fit_steps(None, lambda t: None, opt, 2)
    with pytest.raises(ValueError, match="step: the loss at step 0 has no gradient"):
        fit_steps(None, lambda t: torch.tensor(1.0), opt, 2)
    other = nn.Parameter(torch.ones(2))  # the optimizer holds parameters the loss does not reach
    with pytest.raises(ValueError, match="optimizer: none of its parameters received a gradient at step 0"):
        fit_steps(None, lambda t: (other * 2).sum(), opt, 2)
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module or None, got str"):
        fit_steps("net", lambda t: w.sum(), opt, 1)
    with pytest.raises(ValueError, match="steps: expected an integer >= 1, got -3"):
        fit_steps(None, lambda t: w.sum(), opt, -3)
