"""BLTO: the bi-level trigger optimiser (bounded trigger, outer ascent, current generator in the inner loop,
surrogate re-initialisation) and the claims' decision."""

from __future__ import annotations

import torch
from torch import nn

from contrastkit.backdoor import ConvTriggerGenerator, LearnedTrigger
from contrastkit.methods.view_contrastive import EncoderWithHead
from contrastkit.papers.blto.module import BiLevelTriggerOptimizer
from contrastkit.vision.encoders import ProjectionHead, SmallCNN


class Recording(nn.Module):
    """A generator that records, per call, whether gradients were on and a checksum of its weights."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = ConvTriggerGenerator(1, 4)
        self.calls: list[tuple[bool, float]] = []

    def forward(self, x):
        self.calls.append((torch.is_grad_enabled(), float(sum(p.detach().sum() for p in self.parameters()))))
        return self.inner(x)


def _surrogate():
    enc = SmallCNN(1, (4, 8))
    return EncoderWithHead(enc, ProjectionHead(enc.feature_dim, 16, 8))


def _opt(gen, **kw):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g)
    return BiLevelTriggerOptimizer(LearnedTrigger(gen, 16 / 255), _surrogate, lambda v: v, x, torch.arange(6),
                                   x[:6], batch_size=8, poison_per_batch=2, seed=0, **kw)


def test_learned_trigger_output_within_budget_and_range():
    torch.manual_seed(0)
    trig = LearnedTrigger(ConvTriggerGenerator(1, 8), 16 / 255)
    for scale in (0.1, 10.0):
        for p in trig.generator.parameters():
            nn.init.normal_(p, std=scale)
        x = torch.rand(10, 1, 8, 8)
        with torch.no_grad():
            out = trig(x)
        assert float((out - x).abs().max()) <= 16 / 255 + 1e-6 and 0 <= float(out.min()) <= float(out.max()) <= 1


def test_outer_step_increases_similarity_on_the_same_batch():
    torch.manual_seed(0)
    opt = _opt(ConvTriggerGenerator(1, 4), generator_lr=1e-2)
    for _ in range(3):
        opt.inner_step()
    x, ref = opt.images[6:12], opt.reference
    with torch.no_grad():
        opt.surrogate.eval()
        before = float(opt.similarity(x, ref))
    assert opt.outer_step(x, ref) == before
    with torch.no_grad():
        after = float(opt.similarity(x, ref))
    assert after > before


def test_inner_loop_poisons_with_the_current_generator():
    torch.manual_seed(0)
    gen = Recording()
    opt = _opt(gen)
    opt.run(rounds=3, inner_steps=2, outer_steps=1, reinit_every=2)
    # per round: 2 inner calls (no grad) then 1 outer call (grad), in that order
    assert [c[0] for c in gen.calls] == [False, False, True] * 3
    sums = [c[1] for c in gen.calls]
    for r in range(3):
        inner, outer = sums[3 * r:3 * r + 2], sums[3 * r + 2]
        assert inner == [outer, outer]  # the inner poisons came from the generator the outer step then updates
    assert len({sums[0], sums[3], sums[6]}) == 3  # and it changed between rounds
    assert opt.reinitialisations == 2  # the initial surrogate + one re-initialisation at round 2


def test_surrogate_reinitialised_on_schedule():
    opt = _opt(ConvTriggerGenerator(1, 4))
    first = opt.surrogate
    opt.run(rounds=5, inner_steps=1, outer_steps=1, reinit_every=2)
    assert opt.reinitialisations == 3 and opt.surrogate is not first  # rounds 2 and 4


def test_decide_reads_the_numbers():
    from contrastkit.papers._claims import load_recipe
    from contrastkit.papers.blto.reproduce import RECIPE, decide

    cfg = load_recipe(RECIPE)
    ca = {"clean": [0.9, 0.91, 0.92], "patch": [0.9, 0.9, 0.91], "noise": [0.9, 0.9, 0.91], "blto": [0.9, 0.91, 0.915]}
    asr = {"clean": [0.02] * 3, "patch": [0.1, 0.12, 0.08], "noise": [0.05, 0.06, 0.04], "blto": [0.6, 0.7, 0.65]}
    on_clean = {"patch": [0.02] * 3, "noise": [0.02] * 3, "blto": [0.02] * 3}
    assert decide(cfg, ca, asr, on_clean, quick=False).outcome() == "pass"
    weak = dict(asr, blto=[0.1, 0.05, 0.12])
    assert decide(cfg, ca, weak, on_clean, quick=False).outcome() in ("fail", "not testable")
    assert decide(cfg, dict(ca, clean=[0.3, 0.3, 0.3]), asr, on_clean, quick=False).outcome() == "not testable"


def test_quick_reproduction_smoke():
    from contrastkit.papers.blto.reproduce import reproduce

    r = reproduce(quick=True)
    assert r.quick and set(r.metrics["asr"]) == {"clean", "patch", "noise", "blto"}
    # one seed evaluates nothing: never PASSED above an unmet claim
    assert r.outcome() == "smoke" and r.summary().splitlines()[0] == "blto (quick): smoke run: claims not evaluated"


def _decide(asr_blto, asr_patch, asr_noise, on_clean):
    from contrastkit.papers._claims import load_recipe
    from contrastkit.papers.blto.reproduce import RECIPE, decide

    ca = {arm: [0.96, 0.97, 0.965] for arm in ("clean", "patch", "noise", "blto")}
    asr = {"blto": asr_blto, "patch": asr_patch, "noise": asr_noise}
    clean = {"blto": on_clean, "patch": on_clean, "noise": on_clean}
    return decide(load_recipe(RECIPE), ca, asr, clean, quick=False)


def test_no_implanted_backdoor_makes_the_comparison_not_testable():
    # every ASR at the clean victim's false-positive level: nothing to compare
    low = [0.003, 0.003, 0.003]
    assert _decide([0.003, 0.0, 0.006], [0.0, 0.0, 0.003], low, low).outcome() == "not testable"


def test_an_implanted_backdoor_lets_the_claims_decide():
    low = [0.003, 0.003, 0.003]
    result = _decide([0.60, 0.70, 0.65], [0.20, 0.25, 0.22], [0.10, 0.12, 0.15], low)
    assert result.outcome() in {"pass", "fail"}
    assert all(c.passed for c in result.claims if c.precondition)
