"""CL4SRec, MCLRec and SRA-CL: the checks of each paper's method on tiny synthetic batches."""

import math

import pytest
import torch

from contrastkit.methods.sasrec import SASRecModule
from contrastkit.papers.cl4srec.module import CL4SRec
from contrastkit.papers.mclrec.module import (
    MCLRec,
    contrastive_regularizer,
    pair_regularizer,
    regularizer_from_scores,
)
from contrastkit.papers.sra_cl.module import SRACL, UserAttention, semantic_substitute
from contrastkit.seqrec import SASRec
from contrastkit.seqrec.semantic import item_neighbour_table, nearest_neighbours

N_ITEMS, L, B, N_USERS = 40, 6, 8, 12


def encoder(dropout=0.0):
    torch.manual_seed(0)
    return SASRec(N_ITEMS, L, hidden_size=16, n_heads=2, inner_size=32, n_layers=1, dropout=dropout)


def batch():
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(1, N_ITEMS + 1, (B, L), generator=g)
    inputs[:3, :2] = 0
    targets = torch.randint(1, N_ITEMS + 1, (B, L), generator=g)
    targets[inputs == 0] = 0
    return inputs, targets, torch.arange(B)


def nt_xent_loop(a, b, tau=1.0):
    """2B-anchor NT-Xent with dot similarity, written anchor by anchor (float64)."""
    z = torch.cat([a, b]).detach().double()
    n = a.shape[0]
    total = 0.0
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        logits = [float(z[i] @ z[j]) / tau for j in range(2 * n) if j != i]
        m = max(logits)
        lse = m + math.log(sum(math.exp(v - m) for v in logits))
        total += lse - float(z[i] @ z[pos]) / tau
    return total / (2 * n)


def grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


# ------------------------------------------------------------------------------------------ CL4SRec
def test_cl4srec_contrastive_term_is_nt_xent_dot_tau1():
    m = CL4SRec(encoder(), seed=3)
    torch.manual_seed(1)
    h1, h2 = torch.randn(B, 16), torch.randn(B, 16)
    assert float(m.cl_loss(h1, h2)) == pytest.approx(nt_xent_loop(h1, h2), rel=1e-5)


def test_cl4srec_weight_zero_equals_sasrec():
    b = batch()
    base, cl = SASRecModule(encoder()), CL4SRec(encoder(), cl_weight=0.0)
    lb, lc = base.losses(b)["loss"], cl.losses(b)["loss"]
    lb.backward()
    lc.backward()
    assert torch.equal(lb, lc)
    for name, g in grads(base).items():
        assert torch.equal(g, grads(cl)[name])


# ------------------------------------------------------------------------------------------ MCLRec
def test_regularizer_hand_value():
    # Per anchor (official meta_contrast_rl_1): row 1 s+ 0.9, s- {0.1, 0.3}: o_min 0.3, o_max 0.9;
    # row 2 s+ 0.2, s- {0.85, 0.4}: o_min 0.2, o_max 0.85.
    # R = mean(0.6, 0) + mean(0.8, 0.6, 0, 0.45) = 0.3 + 0.4625 (one global min/max would give 0.7875).
    r = regularizer_from_scores(torch.tensor([0.9, 0.2]), torch.tensor([[0.1, 0.3], [0.85, 0.4]]))
    assert float(r) == pytest.approx(0.7625)
    # The batch-wide example s+ {0.9, 0.8}, s- {0.1, 0.85} (o_min 0.8, o_max 0.85, R 0.425): when every
    # anchor sees the same negatives the per-anchor form gives the same 0.425 (0.025 + 0.4).
    r = regularizer_from_scores(torch.tensor([0.9, 0.8]), torch.tensor([[0.1, 0.85], [0.1, 0.85]]))
    assert float(r) == pytest.approx(0.425)
    with pytest.raises(ValueError, match="positives/negatives"):
        regularizer_from_scores(torch.tensor([0.9, 0.8]), torch.tensor([0.1, 0.85]))


def regularizer_loop(a, b):
    """R of one pair on the 2B x 2B dot scores, anchor by anchor (float64)."""
    z = torch.cat([a, b]).detach().double()
    n2 = z.shape[0]
    pos_terms, neg_terms = [], []
    for i in range(n2):
        partner = (i + n2 // 2) % n2
        pos = float(z[i] @ z[partner])
        negs = [float(z[i] @ z[j]) for j in range(n2) if j not in (i, partner)]
        o_min, o_max = min(pos, max(negs)), max(pos, max(negs))
        pos_terms.append(max(pos - o_min, 0.0))
        neg_terms += [max(o_max - v, 0.0) for v in negs]
    return sum(pos_terms) / len(pos_terms) + sum(neg_terms) / len(neg_terms)


def test_regularizer_matches_loop_over_three_pairs():
    torch.manual_seed(4)
    h1, h2 = torch.randn(B, 16), torch.randn(B, 16)
    z1, z2 = torch.nn.functional.normalize(torch.randn(B, 16), dim=1), torch.nn.functional.normalize(
        torch.randn(B, 16), dim=1)
    assert float(pair_regularizer(h1, z2)) == pytest.approx(regularizer_loop(h1, z2), rel=1e-5)
    want = regularizer_loop(h1, z2) + regularizer_loop(h2, z1) + regularizer_loop(z1, z2)
    assert float(contrastive_regularizer(h1, h2, z1, z2)) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match=">= 2 rows"):
        pair_regularizer(h1[:1], z2[:1])


def test_mclrec_two_stage_update():
    m = MCLRec(encoder(), beta=0.4, lmd=0.1, seed=0)
    m.train()
    enc_opt, aug_opt = m.configure_optimizers()
    m.optimizers = lambda: (enc_opt, aug_opt)  # run the step outside a Trainer
    m.manual_backward = lambda loss: loss.backward()
    m.log = lambda *a, **k: None
    b = batch()
    views = m.draw_views(b[0])
    enc0 = {n: p.detach().clone() for n, p in m.encoder.named_parameters()}
    aug0 = [p.detach().clone() for p in m.augmenter_parameters()]
    # stage 1 by hand: augmenters unchanged, encoder changed
    stage1 = m.encoder_step_loss(b, views)
    # official weights: stage 1 beta * (L_cl2 + 0.1 R); stage 2 L_cl2 + 0.1 R, not scaled by beta
    want1 = stage1["rec"] + 0.1 * stage1["cl1"] + 0.4 * (stage1["cl2"] + 0.1 * stage1["reg"])
    assert torch.allclose(stage1["loss"], want1)
    enc_opt.zero_grad()
    aug_opt.zero_grad()
    stage1["loss"].backward()
    enc_opt.step()
    assert all(torch.equal(p, q) for p, q in zip(m.augmenter_parameters(), aug0, strict=True))
    assert any(not torch.equal(p, enc0[n]) for n, p in m.encoder.named_parameters())
    # stage 2: encoder unchanged, augmenters changed
    enc1 = {n: p.detach().clone() for n, p in m.encoder.named_parameters()}
    aug_opt.zero_grad()
    enc_opt.zero_grad()
    stage2 = m.augmenter_step_loss(views)
    assert torch.allclose(stage2["loss"], stage2["cl2"] + 0.1 * stage2["reg"])
    stage2["loss"].backward()
    assert all(p.grad is None or not p.grad.any() for p in m.encoder.parameters())
    aug_opt.step()
    assert all(torch.equal(p, enc1[n]) for n, p in m.encoder.named_parameters())
    assert any(not torch.equal(p, q) for p, q in zip(m.augmenter_parameters(), aug0, strict=True))
    # the full training_step runs both stages on the rows of its step tick (the bound windows)
    m.bind_windows(b, batch_size=4, seed=1)
    assert torch.isfinite(m.training_step(torch.tensor(0), 0))


def test_mclrec_recipe_weights_reach_module():
    """The recipe's lmd / beta are MCLRec's lambda / beta (official MovieLens 0 / 0.01); CL4SRec keeps cl_weight."""
    import contrastkit.papers._seqrec as R

    s = R.seqrec_settings(R.load_recipe("mclrec"))
    assert s["hyper"]["mclrec"]["lmd"] == 0.0 and s["hyper"]["mclrec"]["beta"] == 0.01
    assert "cl_weight" not in s["hyper"]["mclrec"] and s["hyper"]["cl4srec"]["cl_weight"] == 0.1
    hp = s["hyper"]["mclrec"]
    m = MCLRec(encoder(), seed=0, **hp)
    assert (m.lmd, m.beta) == (0.0, 0.01)
    assert CL4SRec(encoder(), **s["hyper"]["cl4srec"]).cl_weight == 0.1
    b = batch()
    views = m.draw_views(b[0])

    def stage1_grad(module):
        module.zero_grad()
        out = module.encoder_step_loss(b, views)
        out["loss"].backward()
        return out, grads(module.encoder)

    # lmd = 0: L_cl1 contributes nothing (the loss and gradient equal those of the run without the term)
    out0, g0 = stage1_grad(m)
    assert torch.allclose(out0["loss"], out0["rec"] + 0.01 * (out0["cl2"] + 0.1 * out0["reg"]))
    on = MCLRec(encoder(), seed=0, **(hp | {"lmd": 0.5}))
    on.load_state_dict(m.state_dict())
    out1, g1 = stage1_grad(on)
    assert torch.allclose(out1["loss"] - out0["loss"], 0.5 * out1["cl1"])
    assert any(not torch.allclose(g0[n], g1[n]) for n in g0)
    with pytest.raises(TypeError, match="lmd"):
        MCLRec(encoder(), cl_weight=0.1)


def test_mclrec_terms_match_formula():
    m = MCLRec(encoder())
    torch.manual_seed(2)
    h1, h2 = torch.randn(B, 16), torch.randn(B, 16)
    t = m.contrast_terms(h1, h2)
    z1, z2 = m.augmenter1(h1), m.augmenter2(h2)
    assert torch.allclose(z1.norm(dim=1), torch.ones(B))
    want = nt_xent_loop(z1, z2) + nt_xent_loop(h1, z2) + nt_xent_loop(h2, z1)
    assert float(t["cl2"]) == pytest.approx(want, rel=1e-5)
    assert float(t["cl1"]) == pytest.approx(nt_xent_loop(h1, h2), rel=1e-5)
    want_r = regularizer_loop(h1, z2) + regularizer_loop(h2, z1) + regularizer_loop(z1, z2)
    assert float(t["reg"]) == pytest.approx(want_r, rel=1e-5)


# ------------------------------------------------------------------------------------------ SRA-CL
def semantic():
    g = torch.Generator().manual_seed(0)
    items = torch.randn(N_ITEMS, 8, generator=g)
    users = torch.randn(N_USERS, 8, generator=g)
    seqs = torch.randint(1, N_ITEMS + 1, (N_USERS, L), generator=g)
    return dict(item_neighbours=item_neighbour_table(items, 4), user_neighbours=nearest_neighbours(users, 3),
                user_semantic=users, user_sequences=seqs)


def test_neighbours_exclude_self_and_are_top_k():
    emb = torch.randn(20, 5)
    nn_ = nearest_neighbours(emb, 3)
    unit = torch.nn.functional.normalize(emb, dim=1)
    for i in range(20):
        sims = [(float(unit[i] @ unit[j]), j) for j in range(20) if j != i]
        assert set(nn_[i].tolist()) == {j for _, j in sorted(sims, reverse=True)[:3]}
    with pytest.raises(ValueError, match="k: expected an integer"):
        nearest_neighbours(emb, 20)


def test_substitution_only_from_neighbour_set():
    table = semantic()["item_neighbours"]
    inputs = batch()[0]
    out = semantic_substitute(inputs, table, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(out == 0, inputs == 0)
    changed = out != inputs
    assert changed.any()
    for r, c in changed.nonzero().tolist():
        assert out[r, c] in table[inputs[r, c]]
    assert torch.equal(semantic_substitute(inputs, table, 0.0), inputs)


def test_sra_cl_alpha_beta_zero_equals_sasrec():
    b = batch()
    base, sra = SASRecModule(encoder()), SRACL(encoder(), alpha=0.0, beta=0.0, **semantic())
    lb, ls = base.losses(b)["loss"], sra.losses(b)["loss"]
    lb.backward()
    ls.backward()
    assert torch.equal(lb, ls)
    gs = grads(sra)
    for name, g in grads(base).items():
        assert torch.equal(g, gs[name])
    assert all(not k.startswith("attention") for k in gs)


def test_attention_rows_sum_to_one_and_get_gradient_from_user_term_only():
    att = UserAttention(8, 16).eval()
    w = att(torch.randn(5, 8), torch.randn(5, 3, 8))
    assert torch.allclose(w.sum(dim=1), torch.ones(5))
    b = batch()
    item_only = SRACL(encoder(), alpha=0.0, beta=0.5, **semantic())
    item_only.losses(b)["loss"].backward()
    assert item_only.attention.W.weight.grad is None and item_only.attention.a.weight.grad is None
    user = SRACL(encoder(), alpha=0.5, beta=0.0, **semantic())
    out = user.losses(b)
    out["user"].backward()
    assert user.attention.W.weight.grad.abs().sum() > 0 and user.attention.a.weight.grad.abs().sum() > 0


def test_sra_cl_user_positive_matches_loop():
    sra = SRACL(encoder(), **semantic()).eval()
    users = torch.tensor([0, 3, 7])
    got = sra.user_positive(users)
    for row, u in enumerate(users.tolist()):
        neigh = sra.user_neighbours[u]
        alpha = sra.attention(sra.user_semantic[u][None], sra.user_semantic[neigh][None])[0]
        want = sum(alpha[j] * sra.encoder.encode(sra.user_sequences[v][None])[0] for j, v in enumerate(neigh))
        assert torch.allclose(got[row], want, atol=1e-5)


# ------------------------------------------------------------------------------------------ training base
def toy_data(tmp_path):
    from contrastkit.seqrec import load_seqrec

    g = torch.Generator().manual_seed(0)
    rows = ["user_id:token\titem_id:token\ttimestamp:float"]
    for u in range(30):
        for t in range(int(torch.randint(4, 12, (1,), generator=g))):
            rows.append(f"u{u}\ti{int(torch.randint(0, N_ITEMS, (1,), generator=g))}\t{t}")
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy.inter").write_text("\n".join(rows) + "\n")
    return load_seqrec(folder, max_len=L)


def test_fit_seqrec_trains_on_the_step_rows_and_replays(tmp_path):
    # MCLRec: the manually optimised case (two optimizer steps per batch); CL4SRec runs in the quick repro tests
    from contrastkit.methods.seqrec_fit import fit_seqrec
    from contrastkit.training import batch_rows

    data = toy_data(tmp_path)

    def run():
        torch.manual_seed(0)
        m = MCLRec(SASRec(data.n_items, L, hidden_size=16, n_heads=2, inner_size=32, n_layers=1))
        return m, fit_seqrec(m, data, epochs=3, batch_size=16, seed=5, eval_every=2)

    m, first = run()
    n = len(data.train_windows()[0])
    # the rows of step t are the training base's (seed, t) rows of the bound windows
    assert m.batch_size == 16 and m.seed == 5 and len(m.data) == n
    assert torch.equal(m.step_rows(3), batch_rows(3, n, 16, 5))
    # validation after epochs 2 and 3 (the last), steps counted per batch even with two optimizers
    assert [e for e, _ in first.valid_history] == [2, 3]
    _, second = run()
    assert first.test == second.test and first.valid_history == second.valid_history
