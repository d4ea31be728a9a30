"""Numerical reliability of the loss and evaluation layer (replayed reports and adversarial cases).

Groups: (1) rows whose norm overflows the input dtype (float16 entries ~6000 at d = 128, float32
norms ~1e19) against the float64 value of the same inputs rescaled, for every scale-invariant loss
and metric; (2) results that used to be a silent NaN; (3) unvalidated arguments; (4) tensors on
different devices ('meta' stands in for a second device); (5) the learnable temperature at its
cap; (6) bfloat16 rounding on the dense path; (7) alignment / uniformity defined once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.evaluate import knn_accuracy, retrieval_metrics
from contrastkit.evaluate.geometry import alignment, relative_penalty, tolerance, uniformity, zero_shot_accuracy
from contrastkit.functional.geometry import alignment_term, uniformity_term
from contrastkit.functional.similarity import normalize, sq_distances
from contrastkit.losses import (
    CACR,
    CWCL,
    DCL,
    DCLW,
    BarlowTwins,
    HardNegativeInfoNCE,
    Hydra,
    InfoNCE,
    NegativeCosine,
    SepCLR,
    SigLIP,
    SimpleContrastive,
    SupReMix,
    VICReg,
)
from contrastkit.losses.sepclr import align, unif
from contrastkit.mining.queue import MemoryQueue
from contrastkit.papers.clip.module import LogitScale
from contrastkit.timeseries.losses import HierarchicalContrastiveLoss

N, D = 6, 128
# (dtype, target largest |entry|): float16 rows with entries ~6000 have |x|^2 ~ 4.6e9 > 65504^2... in
# float16 the squared norm itself (~6000^2 * 128 / 3) overflows; float32 rows with norms ~1e19 square to ~1e38+.
SCALES = [pytest.param(torch.float16, 6000.0, 5e-3, id="float16-6000"),
          pytest.param(torch.float32, 1e19, 1e-5, id="float32-1e19")]


def _unit(seed: int, n: int = N, d: int = D, *, pairs: bool = True) -> tuple[Tensor, Tensor]:
    """Two correlated float64 batches with largest |entry| 1 (so the scaled copies hit the target)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64)
    b = a + 0.7 * torch.randn(n, d, generator=g, dtype=torch.float64) if pairs else torch.randn(
        n, d, generator=g, dtype=torch.float64)
    return a / a.abs().max(), b / b.abs().max()


def _big(x: Tensor, dtype: torch.dtype, peak: float) -> Tensor:
    return (x * peak).to(dtype)


def _rescaled(x: Tensor, peak: float) -> Tensor:
    """The float64 value of the same (rounded) big inputs, rescaled to O(1)."""
    return x.double() / peak


LABELS = torch.tensor([0, 1, 0, 2, 1, 2])
TARGETS = torch.tensor([0.10, 0.12, 0.30, 0.31, 0.50, 0.53], dtype=torch.float64)
MIX = torch.rand(2 * N, 2 * N, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
GATES = torch.rand(N, D, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.5
SEP_S = _unit(8, pairs=True)
SEP_TARGET = torch.tensor([True, True, True, False, False, False])

# name -> loss of (a, b) for a pair of batches of one dtype (every one invariant to the scale of a, b).
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "infonce_two_view": lambda a, b: InfoNCE(0.1)(a, b),
    "infonce_symmetric": lambda a, b: InfoNCE(0.1, mode="symmetric")(a, b),
    "infonce_tiled": lambda a, b: InfoNCE(0.1, tile_size=4)(a, b),
    "clip_tiled": lambda a, b: InfoNCE(0.1, mode="symmetric", tile_size=4)(a, b),
    "supcon": lambda a, b: InfoNCE(0.1)(a, b, labels=LABELS),
    "negatives": lambda a, b: InfoNCE(0.1, mode="a_to_b")(a[:4], b[:4], negatives=b[4:]),
    "dcl": lambda a, b: DCL(0.1)(a, b),
    "dclw": lambda a, b: DCLW(0.1)(a, b),
    "hard_negative": lambda a, b: HardNegativeInfoNCE(0.1, top_k=3)(a, b),
    "cwcl": lambda a, b: CWCL()(a, b, frozen=a),
    "simple": lambda a, b: SimpleContrastive()(a, b),
    "supremix": lambda a, b: SupReMix(window=0.3)(a, b, labels=TARGETS.to(a.dtype), mix_lambda=MIX.to(a.dtype)),
    "hydra": lambda a, b: Hydra()(torch.cat([a, b]), labels=LABELS.repeat(2), partner_labels=LABELS.roll(1).repeat(2),
                                  gates=GATES.repeat(2, 1).to(a.dtype)),
    "cacr": lambda a, b: CACR()(a, b),
    "sepclr": lambda a, b: SepCLR()(a, b, SEP_S[0].to(a.dtype), SEP_S[1].to(a.dtype), is_target=SEP_TARGET),
    "negative_cosine": lambda a, b: NegativeCosine()(a, b),
    "siglip": lambda a, b: SigLIP()(a, b),
    "siglip_tiled": lambda a, b: SigLIP(tile_size=4)(a, b),
}


@pytest.mark.parametrize(("dtype", "peak", "rtol"), SCALES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_on_overflowing_norms_equals_float64_rescaled(name, dtype, peak, rtol):
    a, b = _unit(1)
    big_a, big_b = _big(a, dtype, peak), _big(b, dtype, peak)
    # The premise: the squared norm of a row is beyond the input dtype's range.
    assert torch.isinf(big_a.pow(2).sum(1)).any()
    value = LOSSES[name](big_a, big_b)
    ref = LOSSES[name](_rescaled(big_a, peak), _rescaled(big_b, peak))
    assert torch.isfinite(value)
    assert value.item() == pytest.approx(ref.item(), rel=rtol, abs=rtol)


def _clusters(seed: int, n_per: int = 5, classes: int = 4) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, D, generator=g, dtype=torch.float64) * 3
    y = torch.arange(classes).repeat_interleave(n_per)
    train = centres[y] + 0.3 * torch.randn(len(y), D, generator=g, dtype=torch.float64)
    test = centres[y] + 0.3 * torch.randn(len(y), D, generator=g, dtype=torch.float64)
    peak = max(train.abs().max(), test.abs().max())
    return train / peak, y, test / peak, y


METRICS: dict[str, Callable[[Tensor, Tensor, Tensor], object]] = {
    "knn": lambda tr, y, te: knn_accuracy(tr, y, te, y, k=3),
    "retrieval": lambda tr, y, te: retrieval_metrics(te, tr, torch.arange(len(y)), ks=(1, 3)),
    "alignment": lambda tr, y, te: alignment(tr, te),
    "uniformity": lambda tr, y, te: uniformity(tr, chunk_size=7),
    "tolerance": lambda tr, y, te: tolerance(tr, y),
    "zero_shot": lambda tr, y, te: zero_shot_accuracy(te, tr[::5], y),
    "relative_penalty": lambda tr, y, te: relative_penalty(te[:3], tr[:3], tr[3:], 0.1).double().sum(0).tolist(),
}


@pytest.mark.parametrize(("dtype", "peak", "rtol"), SCALES)
@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_on_overflowing_norms_equals_float64_rescaled(name, dtype, peak, rtol):
    train, y, test, _ = _clusters(2)
    big_train, big_test = _big(train, dtype, peak), _big(test, dtype, peak)
    value = METRICS[name](big_train, y, big_test)
    ref = METRICS[name](_rescaled(big_train, peak), y, _rescaled(big_test, peak))
    assert value == pytest.approx(ref, rel=rtol, abs=rtol)
    if name == "knn":
        assert value == 1.0  # separated clusters (the reported failure gave 0.33)


def test_normalize_is_f_normalize_in_range_and_exact_beyond():
    x = torch.randn(9, 17, dtype=torch.float32)
    x[2] = 0
    assert torch.equal(normalize(x), F.normalize(x))  # bit for bit: the scaling is by powers of two
    for dtype, peak in ((torch.float16, 6000.0), (torch.float32, 1e19), (torch.float32, 3e38), (torch.float64, 1e300)):
        big = (x.double() / x.abs().max() * peak).to(dtype)
        out = normalize(big)
        assert out.dtype == dtype
        ref = F.normalize(big.double() / peak, dim=-1)
        torch.testing.assert_close(out.double(), ref, rtol=2e-3 if dtype == torch.float16 else 1e-6, atol=1e-3)
    assert normalize(torch.zeros(2, 3)).abs().sum() == 0


def test_sq_distances_do_not_cancel_an_overflowed_norm():
    # |a|^2 + |b|^2 overflows float32 although |a - b|^2 = 0: the expanded form gave inf (then
    # exp(-inf) = 0, a silently wrong uniformity).
    a = torch.full((2, 4), 1.3e19)
    assert torch.isinf((a * a).sum(1, keepdim=True) + (a * a).sum(1)).all()
    torch.testing.assert_close(sq_distances(a, a), torch.zeros(2, 2))
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(sq_distances(x, x), torch.cdist(x, x).pow(2), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- silent NaN
def test_cacr_without_normalisation_is_right_in_range_and_raises_beyond():
    a, b = _unit(5, n=6, d=8)
    value = CACR(normalize=False)((a * 1e15).float(), (b * 1e15).float())
    ref = CACR(normalize=False)(a * 1e15, b * 1e15)
    assert value.item() == pytest.approx(ref.item(), rel=1e-4)
    with pytest.raises(ValueError, match="overflow.*normalize=True"):
        CACR(normalize=False)((a * 1e19).float(), (b * 1e19).float())


def test_sepclr_salient_term_raises_instead_of_nan():
    c1, c2 = _unit(6, n=8, d=4)
    s1, s2 = _unit(7, n=8, d=4)
    t = torch.tensor([True] * 4 + [False] * 4)
    parts = SepCLR().parts(c1.float(), c2.float(), (s1 * 1e15).float(), (s2 * 1e15).float(), is_target=t)
    ref = SepCLR().parts(c1, c2, s1 * 1e15, s2 * 1e15, is_target=t)
    assert parts["salient"].item() == pytest.approx(ref["salient"].item(), rel=1e-4)
    with pytest.raises(ValueError, match="overflow.*salient"):
        SepCLR().parts(c1.float(), c2.float(), (s1 * 1e20).float(), (s2 * 1e20).float(), is_target=t)


@pytest.mark.parametrize("bad", [float("nan"), 5.0, -0.5])
def test_supremix_rejects_mix_lambda_outside_unit_interval(bad):
    a, b = _unit(9, d=8)
    lam = MIX.clone()
    lam[1, 2] = bad
    with pytest.raises(ValueError, match=r"mix_lambda: expected every entry in \[0, 1\]"):
        SupReMix(window=0.3)(a, b, labels=TARGETS, mix_lambda=lam)
    with pytest.raises(TypeError, match="mix_lambda"):
        SupReMix()(a, b, labels=TARGETS, mix_lambda=[[0.5]])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- unvalidated arguments
def _callable_weights(w: Tensor) -> Callable[[slice, slice], Tensor]:
    return lambda rows, cols: w[rows, cols]


@pytest.mark.parametrize("tile", [None, 2])
@pytest.mark.parametrize(("case", "match"), [
    ("negative", "weights: expected non-negative"),
    ("nan", "weights: contains NaN"),
    ("zero_row", "weights: row 3 of the soft weights sums to 0"),
    ("shape", "weights: expected shape"),
])
def test_soft_weights_given_as_a_callable_are_checked(case, match, tile):
    a, b = _unit(10, d=8)
    w = torch.eye(N, dtype=torch.float64) + 0.1
    if case == "negative":
        w[0, 1] = -0.5
    elif case == "nan":
        w[2, 2] = float("nan")
    elif case == "zero_row":
        w[3] = 0
    fn = _callable_weights(w) if case != "shape" else (lambda rows, cols: w[rows, cols][:, :1])
    with pytest.raises(ValueError, match=match):
        InfoNCE(0.1, mode="a_to_b", tile_size=tile)(a, b, weights=fn)
    # The same weights as a tensor: the same error (the shape case does not apply to tensors).
    if case != "shape":
        with pytest.raises(ValueError, match=match):
            InfoNCE(0.1, mode="a_to_b", tile_size=tile)(a, b, weights=w)


def test_valid_callable_weights_equal_the_tensor():
    a, b = _unit(11, d=8)
    w = torch.eye(N, dtype=torch.float64) + 0.1
    torch.testing.assert_close(InfoNCE(0.1, mode="a_to_b")(a, b, weights=_callable_weights(w)),
                               InfoNCE(0.1, mode="a_to_b")(a, b, weights=w))


@pytest.mark.parametrize("reverse", ["infonce", "weighted", "none"])
def test_cwcl_needs_b(reverse):
    a, _ = _unit(12, d=8)
    with pytest.raises(ValueError, match="b: CWCL needs"):
        CWCL(reverse=reverse)(a, None, frozen=a)  # type: ignore[arg-type]


def test_memory_queue_rejects_integer_dtype_and_float_labels():
    with pytest.raises(TypeError, match="dtype: expected a floating dtype"):
        MemoryQueue(4, 3, dtype=torch.long)
    queue = MemoryQueue(4, 3)
    with pytest.raises(TypeError, match="labels: expected an integer dtype"):
        queue.enqueue(torch.randn(2, 3), labels=torch.tensor([1.7, 2.2]))
    with pytest.raises(TypeError, match="ids: expected an integer dtype"):
        queue.enqueue(torch.randn(2, 3), ids=torch.tensor([0.5, 1.5]))
    queue.enqueue(torch.randn(2, 3), labels=torch.tensor([7, 8]))
    assert queue.stored_labels().tolist() == [7, 8]


# ---------------------------------------------------------------------------- devices
META = "meta"


def _m(x: Tensor) -> Tensor:
    return torch.empty_like(x, device=META)


A, B = _unit(13, d=8)
W = torch.eye(N, dtype=torch.float64) + 0.1
DEVICE_CASES: dict[str, tuple[Callable[[], object], str]] = {
    "infonce_b": (lambda: InfoNCE()(A, _m(B)), "b"),
    "infonce_labels": (lambda: InfoNCE()(A, B, labels=_m(LABELS)), "labels"),
    "infonce_negatives": (lambda: InfoNCE(mode="a_to_b")(A, B, negatives=_m(B)), "negatives"),
    "infonce_weights": (lambda: InfoNCE(mode="a_to_b")(A, B, weights=_m(W)), "weights"),
    "infonce_weights_callable": (lambda: InfoNCE(mode="a_to_b")(A, B, weights=lambda r, c: _m(W[r, c])), "weights"),
    "infonce_temperature": (lambda: InfoNCE(mode="symmetric")(A, B, temperature=torch.tensor(0.1, device=META)),
                            "temperature"),
    "infonce_tiled_b": (lambda: InfoNCE(tile_size=2)(A, _m(B)), "b"),
    "dcl_b": (lambda: DCL()(A, _m(B)), "b"),
    "dclw_b": (lambda: DCLW()(A, _m(B)), "b"),
    "hard_negative_b": (lambda: HardNegativeInfoNCE(top_k=2)(A, _m(B)), "b"),
    "simple_b": (lambda: SimpleContrastive()(A, _m(B)), "b"),
    "cwcl_b": (lambda: CWCL()(A, _m(B), frozen=A), "b"),
    "cwcl_frozen": (lambda: CWCL()(A, B, frozen=_m(A)), "frozen"),
    "cwcl_weights": (lambda: CWCL()(A, B, weights=_m(W)), "weights"),
    "cacr_b": (lambda: CACR()(A, _m(B)), "b"),
    "sepclr_s1": (lambda: SepCLR().parts(A, B, _m(A), B, is_target=SEP_TARGET), "s1"),
    "sepclr_is_target": (lambda: SepCLR().parts(A, B, A, B, is_target=_m(SEP_TARGET)), "is_target"),
    "supremix_b": (lambda: SupReMix()(A, _m(B), labels=TARGETS), "b"),
    "supremix_labels": (lambda: SupReMix()(A, B, labels=_m(TARGETS)), "labels"),
    "supremix_mix_lambda": (lambda: SupReMix()(A, B, labels=TARGETS, mix_lambda=_m(MIX)), "mix_lambda"),
    "hydra_gates": (lambda: Hydra()(A, labels=LABELS, partner_labels=LABELS, gates=_m(A)), "gates"),
    "hydra_partner_labels": (lambda: Hydra()(A, labels=LABELS, partner_labels=_m(LABELS)), "partner_labels"),
    "barlow_b": (lambda: BarlowTwins()(A, _m(B)), "b"),
    "vicreg_b": (lambda: VICReg()(A, _m(B)), "b"),
    "negative_cosine_b": (lambda: NegativeCosine()(A, _m(B)), "b"),
    "siglip_b": (lambda: SigLIP()(A, _m(B)), "b"),
    "siglip_scale": (lambda: SigLIP()(A, B, scale=torch.tensor(10.0, device=META)), "scale"),
    "ts2vec_z2": (lambda: HierarchicalContrastiveLoss()(A.reshape(N, 2, 4), _m(B.reshape(N, 2, 4))), "z2"),
    "queue_keys": (lambda: MemoryQueue(4, 8).enqueue(_m(A.float())), "keys"),
    "queue_labels": (lambda: MemoryQueue(8, 8).enqueue(A.float(), labels=_m(LABELS)), "labels"),
}


@pytest.mark.parametrize("case", sorted(DEVICE_CASES))
def test_device_mismatch_names_the_argument(case):
    call, name = DEVICE_CASES[case]
    with pytest.raises(ValueError, match=rf"^{name}: expected .*(on cpu|the device of the embeddings)"):
        call()


def test_cpu_labels_and_scalars_stay_accepted():
    # Integer labels and 0-dim scalars on the CPU are moved by the losses (valid with CUDA inputs).
    value = InfoNCE(mode="symmetric")(A, B, labels=LABELS, temperature=torch.tensor(0.1))
    assert torch.isfinite(value)


# ---------------------------------------------------------------------------- learnable temperature
def _clip_loss(scale: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return InfoNCE(mode="symmetric")(a, b, temperature=1 / scale)


def test_logit_scale_past_the_cap_stays_trainable():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(32, 8, generator=g)
    b = a + 1.2 * torch.randn(32, 8, generator=g)  # noisy pairs: the best scale is small
    grid = torch.linspace(0.5, 30, 600)
    with torch.no_grad():
        best = float(grid[torch.stack([_clip_loss(s, a, b) for s in grid]).argmin()])
    assert 2 < best < 20
    scale = LogitScale(0.07, 100.0)
    with torch.no_grad():
        scale.log_scale.fill_(math.log(100.0) + 0.05)  # one step carried it past ln 100
    # An output clamp has no gradient there (the reported freeze); the parameter clamp has one.
    frozen = torch.tensor(math.log(100.0) + 0.05, requires_grad=True)
    (g_frozen,) = torch.autograd.grad(_clip_loss(frozen.exp().clamp(max=100.0), a, b), frozen)
    assert g_frozen == 0
    (g_ours,) = torch.autograd.grad(_clip_loss(scale.scale(), a, b), scale.log_scale)
    assert g_ours > 0 and scale.scale().item() == pytest.approx(100.0)
    opt = torch.optim.Adam(scale.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        _clip_loss(scale.scale(), a, b).backward()
        opt.step()
    assert scale.scale().item() == pytest.approx(best, rel=0.05)
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert scale.scale().item() == pytest.approx(100.0) and scale.log_scale.item() == pytest.approx(math.log(100.0))


# ---------------------------------------------------------------------------- bfloat16 dense path
@pytest.mark.parametrize("mode", ["two_view", "symmetric"])
def test_bfloat16_dense_path_upcasts_before_scaling(mode):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(256, 128, generator=g, dtype=torch.float64)
    b = a + torch.randn(256, 128, generator=g, dtype=torch.float64)
    a16, b16 = a.to(torch.bfloat16), b.to(torch.bfloat16)
    tau = 0.1
    ref = InfoNCE(tau, mode=mode)(a16.double(), b16.double()).item()
    dense = InfoNCE(tau, mode=mode)(a16, b16).item()
    tiled = InfoNCE(tau, mode=mode, tile_size=32)(a16, b16).item()
    dense_err, tiled_err = abs(dense - ref) / ref, abs(tiled - ref) / ref
    # The reported fault, transcribed: similarities rounded to bfloat16 before the division by tau.
    na, nb = normalize(a16), normalize(b16)
    z = torch.cat([na, nb]) if mode == "two_view" else None
    if mode == "two_view":
        logits = (z @ z.T).float() / tau
        logits.fill_diagonal_(float("-inf"))
        target = torch.arange(512).roll(256)
        rounded = F.cross_entropy(logits, target).item()
    else:
        logits = (na @ nb.T).float() / tau
        target = torch.arange(256)
        rounded = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)).item()
    rounded_err = abs(rounded - ref) / ref
    assert dense_err < 1e-4 and tiled_err < 1e-4
    assert rounded_err > 3 * max(dense_err, tiled_err)  # the check can tell the two apart


# ---------------------------------------------------------------------------- one geometry
def test_alignment_and_uniformity_defined_once():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(9, 5, generator=g, dtype=torch.float64)
    y = torch.randn(9, 5, generator=g, dtype=torch.float64)
    xn, yn = F.normalize(x, dim=1), F.normalize(y, dim=1)
    pairs = [(i, j) for i in range(9) for j in range(i + 1, 9)]
    for t in (2.0, 0.7):
        loop = math.log(sum(math.exp(-t * float((xn[i] - xn[j]).pow(2).sum())) for i, j in pairs) / len(pairs))
        assert uniformity(x, t=t, chunk_size=4) == pytest.approx(loop, rel=1e-12)
        assert float(uniformity_term(xn, t=t)) == pytest.approx(loop, rel=1e-12)
        assert float(unif(xn, tau=1 / (2 * t))) == pytest.approx(loop, rel=1e-12)
    loop_align = sum(float((xn[i] - yn[i]).pow(2).sum()) for i in range(9)) / 9
    assert alignment(x, y) == pytest.approx(loop_align, rel=1e-12)
    assert float(alignment_term(xn, yn)) == pytest.approx(loop_align, rel=1e-12)
    assert float(align(xn, yn, tau=0.5)) == pytest.approx(loop_align, rel=1e-12)
    assert alignment(x, y, alpha=1) == pytest.approx(float((xn - yn).norm(dim=1).mean()), rel=1e-12)


@pytest.mark.parametrize("which", ["train_emb", "test_emb"])
def test_evaluate_meta_input_names_the_argument(which):
    # The metrics move inputs to one device themselves; a 'meta' tensor has no values to move, which
    # used to surface as torch's "Tensor.item() cannot be called on meta tensors".
    from contrastkit.evaluate import knn_accuracy

    x = {"train_emb": A.float(), "test_emb": B.float()}
    x[which] = _m(x[which])
    with pytest.raises(ValueError, match=rf"^{which}: expected a tensor with values, got one on the 'meta' device"):
        knn_accuracy(x["train_emb"], LABELS, x["test_emb"], LABELS, k=3)
