"""CLAPS (Lee et al., ICLR 2021): imposter raises NLL, distant target moves away and is pulled back, L1 reference,
no parameter-gradient leakage."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.generation._testing import tiny_t5
from contrastkit.generation.claps import CLAPS, claps_logits_loss


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    src = torch.randint(2, 60, (4, 7), generator=g)
    mask = torch.ones_like(src)
    mask[1, 5:] = 0
    labels = torch.randint(2, 60, (4, 6), generator=g)
    labels[2, 4:] = -100
    return src, mask, labels


def make(mode: str = "claps", **kw) -> CLAPS:
    torch.manual_seed(0)
    return CLAPS(tiny_t5(0, std=0.1), mode=mode, **kw).eval()


def test_lm_logits_matches_model() -> None:
    claps = make()
    src, mask, labels = batch()
    st = claps.states(src, mask, labels)
    torch.testing.assert_close(claps.lm_logits(st["hy"]), st["logits"], atol=1e-5, rtol=1e-5)


def test_imposter_raises_nll() -> None:
    claps = make()
    src, mask, labels = batch()
    hy = claps.states(src, mask, labels)["hy"].detach()

    def nll(h: torch.Tensor) -> float:
        with torch.no_grad():
            return claps._nll(h, labels).item()

    base = nll(hy)
    for eps in (0.05, 0.2):
        assert nll(claps.imposter(hy, labels, eps)) > base
    # a random direction of the same size raises it far less (first order ~ 0)
    noise = torch.randn(hy.shape, generator=torch.Generator().manual_seed(1))
    rand = nll(hy + 0.05 * noise / noise.norm(dim=-1, keepdim=True))
    assert nll(claps.imposter(hy, labels, 0.05)) - base > abs(rand - base)


def test_distant_target_moves_away_and_keeps_likelihood() -> None:
    claps = make()
    src, mask, labels = batch()
    tgt = labels != -100
    with torch.no_grad():
        st = claps.states(src, mask, labels)
        zx = claps.pool(st["hx"], mask)
    far, bar = claps.distant_target(zx, st["hy"], labels, eps=0.5)
    with torch.no_grad():
        cos_y = F.cosine_similarity(zx, claps.pool(st["hy"], tgt)).mean()
        cos_far = F.cosine_similarity(zx, claps.pool(far, tgt)).mean()
        assert float(cos_far) < float(cos_y)
        assert float(claps.kl(st["hy"], bar, labels)) < float(claps.kl(st["hy"], far, labels))


def test_l1_with_zero_eps_equals_duplicated_positive_column() -> None:
    claps = make(eps_pos=0.0, eps_neg=0.0)
    src, mask, labels = batch()
    tgt = labels != -100
    st = claps.states(src, mask, labels)
    zx, zy = claps.pool(st["hx"], mask), claps.pool(st["hy"], tgt)
    z_imp = claps.pool(claps.imposter(st["hy"], labels), tgt)
    S = torch.stack([torch.stack([F.cosine_similarity(zx[i], zy[j], dim=0) for j in range(4)]) for i in range(4)])
    ref = F.cross_entropy(torch.cat([S, S.diagonal()[:, None]], 1) / 0.1, torch.arange(4))
    got = claps_logits_loss(zx, zy, z_imp, None, 0.1)
    assert float(got) == pytest.approx(float(ref), abs=1e-5)
    # L2 at eps=0: the distant target is H^y itself, so L2 (code: no tau) == CE([S, diag S], i)
    _, h_bar = claps.distant_target(zx, st["hy"], labels)
    l2 = claps_logits_loss(zx, zy, z_imp, claps.pool(h_bar, tgt), None)
    ref2 = F.cross_entropy(torch.cat([S, S.diagonal()[:, None]], 1), torch.arange(4))
    assert float(l2) == pytest.approx(float(ref2), abs=1e-5)


def test_no_parameter_gradient_leakage_and_loss_backward() -> None:
    claps = make()
    src, mask, labels = batch()
    st = claps.states(src, mask, labels)
    zx = claps.pool(st["hx"], mask)
    claps.imposter(st["hy"], labels)
    claps.distant_target(zx, st["hy"], labels)
    assert all(p.grad is None for p in claps.parameters())
    for mode in ("claps", "naive", "mle"):
        model = make(mode)
        out = model(src, mask, labels)
        out["loss"].backward()
        assert model.model.shared.weight.grad is not None
        if mode == "claps":
            assert set(out) == {"loss", "nll", "l1", "l2"}
            assert out["loss"].item() == pytest.approx((out["nll"] + 0.5 * (out["l1"] + out["l2"])).item(), abs=1e-5)


def test_errors() -> None:
    with pytest.raises(ValueError, match="mode"):
        CLAPS(tiny_t5(0), mode="x")
    with pytest.raises(ValueError, match="eps_pos"):
        CLAPS(tiny_t5(0), eps_pos=-1)
    with pytest.raises(ValueError, match="tau"):
        CLAPS(tiny_t5(0), tau=0)


def test_rescaled_states_follow_the_official_code() -> None:
    """``rescaled_states``: ``hy`` is T5's rescaled decoder output (the official code's ``sequence_output *
    model_dim ** -0.5``), the LM head on it still gives the model's logits, and a perturbation of size eps
    in that space equals one of size eps * sqrt(d) in the raw space."""
    raw, scaled = make(), make(rescaled_states=True)
    src, mask, labels = batch()
    st_raw, st = raw.states(src, mask, labels), scaled.states(src, mask, labels)
    d = raw.model.config.d_model
    torch.testing.assert_close(st["hy"], st_raw["hy"] * d ** -0.5)
    torch.testing.assert_close(scaled.lm_logits(st["hy"]), st["logits"], atol=1e-5, rtol=1e-5)
    imp_scaled = scaled.imposter(st["hy"], labels, eps=0.5)
    imp_raw = raw.imposter(st_raw["hy"], labels, eps=0.5 * d ** 0.5)
    torch.testing.assert_close(imp_scaled, imp_raw * d ** -0.5, atol=1e-5, rtol=1e-4)
    out = scaled(src, mask, labels)
    assert torch.isfinite(out["loss"]) and out["l1"] > 0
    with pytest.raises(TypeError, match="rescaled_states"):
        CLAPS(tiny_t5(0), rescaled_states=1)
