"""The loss classes that replaced free-function objectives give the former functions' values and gradients.

Each reference below is the former function body, kept verbatim as it was before the class existed
(AutoTCL's encoder objective, SimCTG's LM loss, RankGen's loss, CLAPS's logits loss, COMET's id loss), so
a change of the class's arithmetic shows here. float64 unless said otherwise.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.similarity import pairwise_cosine
from contrastkit.generation._testing import tiny_gpt2
from contrastkit.generation.claps import CLAPSLoss, claps_logits_loss
from contrastkit.generation.rankgen import RankGenLoss, rankgen_loss
from contrastkit.generation.simctg import SimCTGLoss, simctg_contrastive_loss, simctg_lm_loss
from contrastkit.losses import InfoNCE
from contrastkit.timeseries.autotcl import AutoTCLLoss, encoder_objective, global_infonce, local_infonce
from contrastkit.timeseries.comet import IDContrastiveLoss, flatten_time_normalized, id_contrastive_loss


def _leaves(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_() for s in shapes]


def _same(new, old, leaves):
    assert torch.equal(new, old), (float(new), float(old))
    for a, b in zip(torch.autograd.grad(new, leaves), torch.autograd.grad(old, leaves), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------ former bodies
def _old_encoder_objective(z_x, z_v, *, local_weight=0.3, k=16, temperature=1.0, padding_mask=None):
    loss = global_infonce(z_x, z_v, temperature=temperature, padding_mask=padding_mask)
    if local_weight:
        loss = loss + local_weight * local_infonce(z_x, k=k, temperature=temperature)
    return loss


def _old_simctg_lm_loss(model, input_ids, attention_mask=None, *, margin=0.5, cl_weight=1.0):
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    logits = out.logits[:, :-1].float()
    target = input_ids[:, 1:]
    if attention_mask is not None:
        target = target.masked_fill(attention_mask[:, 1:] == 0, -100)
    mle = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
    cl = simctg_contrastive_loss(out.hidden_states[-1], attention_mask, margin)
    return {"loss": mle + cl_weight * cl, "mle": mle, "cl": cl}


def _old_rankgen_loss(prefix_emb, cont_emb, generated_emb=None):
    return InfoNCE(temperature=1.0, mode="a_to_b", similarity="dot")(prefix_emb, cont_emb, negatives=generated_emb)


def _old_claps_logits_loss(zx, zy, z_imposter, z_positive, tau):
    S = pairwise_cosine(zx, zy)
    if z_positive is not None:
        S = S.clone()
        idx = torch.arange(S.shape[0], device=S.device)
        S[idx, idx] = F.cosine_similarity(zx, z_positive, dim=-1)
    imp = F.cosine_similarity(zx, z_imposter, dim=-1)[:, None]
    logits = torch.cat([S, imp], 1)
    if tau is not None:
        logits = logits / tau
    B = S.shape[0]
    weight = torch.cat([torch.eye(B, dtype=logits.dtype, device=logits.device), logits.new_zeros(B, 1)], 1)
    rows, _ = info_nce_rows(logits, weight, torch.ones_like(weight, dtype=torch.bool))
    return rows.mean()


def _old_id_contrastive_loss(z1, z2, ids, *, temperature=0.1, pairs="labels"):
    u1, u2 = flatten_time_normalized(z1), flatten_time_normalized(z2)
    if pairs == "labels":
        return InfoNCE(temperature, mode="symmetric")(u1, u2, labels=ids)
    n = ids.shape[0]
    index = torch.arange(n, device=ids.device)
    later = (ids.unsqueeze(1) == ids.unsqueeze(0)) & (index.unsqueeze(0) > index.unsqueeze(1))
    if not later.any():
        return z1.new_zeros(())
    weights = later.to(u1.dtype)
    count = weights.sum(1)
    loss = InfoNCE(temperature, mode="a_to_b", reduction="none", no_positive="ignore")
    upper = (loss(u1, u2, weights=weights) * count).sum() / count.sum()
    lower = (loss(u2, u1, weights=weights) * count).sum() / count.sum()
    return (upper + lower) / 2


# ------------------------------------------------------------------ tests
def test_autotcl_loss_is_the_former_encoder_objective():
    z_x, z_v = _leaves((5, 40, 6), (5, 40, 6))
    for kwargs in ({}, {"local_weight": 0.0}, {"local_weight": 1.5, "k": 8, "temperature": 0.5}):
        random.seed(3)  # the local term draws its start (40 - 32 = 8 choices at k 16) from `random`
        old = _old_encoder_objective(z_x, z_v, **kwargs)
        random.seed(3)
        new = AutoTCLLoss(**kwargs)(z_x, z_v)
        _same(new, old, [z_x, z_v])
        random.seed(3)
        torch.testing.assert_close(encoder_objective(z_x, z_v, **kwargs), old, rtol=0, atol=0)
    random.seed(3)
    parts = AutoTCLLoss(local_weight=0.3)(z_x, z_v, start=5), AutoTCLLoss().parts(z_x, z_v, start=5)
    torch.testing.assert_close(parts[0], parts[1]["global"] + 0.3 * parts[1]["local"], rtol=0, atol=0)


def test_simctg_loss_is_the_former_lm_loss():
    ids = torch.randint(0, 50, (3, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    for dtype in (torch.float32, torch.float64):
        model = tiny_gpt2(0, std=0.2, vocab_size=50).to(dtype)
        leaves = list(model.parameters())
        for m in (None, mask):
            old, new = _old_simctg_lm_loss(model, ids, m, margin=0.4, cl_weight=0.7), \
                simctg_lm_loss(model, ids, m, margin=0.4, cl_weight=0.7)
            if dtype == torch.float32:  # every training run: identical values and gradients
                _same(new["loss"], old["loss"], leaves)
                assert torch.equal(new["mle"], old["mle"]) and torch.equal(new["cl"], old["cl"])
            else:  # the former function cast float64 logits to float32; the class keeps float64
                torch.testing.assert_close(new["loss"], old["loss"].double(), rtol=1e-6, atol=1e-7)
                torch.testing.assert_close(new["cl"], old["cl"], rtol=0, atol=0)
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    direct = SimCTGLoss(0.4, 0.7)(out.hidden_states[-1], out.logits, ids, mask)
    torch.testing.assert_close(direct, simctg_lm_loss(model, ids, mask, margin=0.4, cl_weight=0.7)["loss"],
                               rtol=0, atol=0)


def test_rankgen_loss_is_the_former_function():
    p, c, g = _leaves((6, 5), (6, 5), (4, 5), seed=1)
    _same(RankGenLoss()(p, c, g), _old_rankgen_loss(p, c, g), [p, c, g])
    _same(rankgen_loss(p, c), _old_rankgen_loss(p, c), [p, c])
    rows = RankGenLoss(reduction="none")(p, c, g)
    torch.testing.assert_close(rows.mean(), _old_rankgen_loss(p, c, g), rtol=0, atol=1e-15)


def test_claps_loss_is_the_former_logits_loss():
    zx, zy, zi, zp = _leaves((6, 5), (6, 5), (6, 5), (6, 5), seed=2)
    for positive, tau in ((None, 0.1), (zp, None), (zp, 0.3)):
        def old():
            return _old_claps_logits_loss(zx, zy, zi, positive, tau)  # noqa: B023 (called in this iteration)

        _same(CLAPSLoss(tau)(zx, zy, zi, positive), old(), [zx, zy, zi])
        _same(claps_logits_loss(zx, zy, zi, positive, tau), old(), [zx, zy, zi])
        rows = CLAPSLoss(tau, reduction="none")(zx, zy, zi, positive)
        torch.testing.assert_close(rows.mean(), old(), rtol=0, atol=1e-15)


def test_id_loss_is_the_former_function():
    z1, z2 = _leaves((6, 7, 3), (6, 7, 3), seed=3)
    for ids in (torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([0, 1, 0, 2, 1, 0]), torch.arange(6)):
        for pairs in ("labels", "official"):
            old = _old_id_contrastive_loss(z1, z2, ids, temperature=0.2, pairs=pairs)
            new = IDContrastiveLoss(0.2, pairs)(z1, z2, ids)
            if old.requires_grad:
                _same(new, old, [z1, z2])
            else:  # no two samples share an id: both a plain zero
                assert float(new) == float(old) == 0
            assert torch.equal(id_contrastive_loss(z1, z2, ids, temperature=0.2, pairs=pairs), new)
