"""Denominator weights, per-anchor candidate groups and duplicates vs a naive float64 loop.

Every case is checked on three executions — the sparse-pair dense path, the weight-matrix dense
path and the tiled path — for values and gradients (:func:`tests.naive.candidate_rows_loop`)."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses import DCL, DCLW, InfoNCE
from tests.naive import _cos, candidate_rows_loop

N, D, M, K = 6, 4, 3, 2
TAU = 0.3
PATHS = ("pairs", "weights", "tiled")


def _data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def leaf(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()

    a, b, neg, group = leaf(N, D), leaf(N, D), leaf(M, D), leaf(N, K, D)
    labels = torch.tensor([0, 1, 0, 2, 1, 3])
    q = torch.rand(2 * N, 2 * N + M + K, generator=g, dtype=torch.float64) * 2
    q[torch.rand(q.shape, generator=g) < 0.2] = 0  # some pairs removed
    q[:, 0] = q[:, 0].clamp_min(0.5)  # every row keeps a candidate
    positive_index = torch.randint(0, K, (N,), generator=g)
    return a, b, neg, group, labels, q, positive_index


def _vmf(anchors, positives_of, sigma):
    sims = [float(sum(_cos(anchors[i], p) for p in ps).detach() / len(ps)) for i, ps in enumerate(positives_of)]
    z = torch.tensor(sims, dtype=torch.float64) / sigma
    return (2 - len(sims) * torch.softmax(z, 0)).tolist()


def _reference(sets, anchors, cls):
    in_den = cls is InfoNCE
    scale = None
    if cls is DCLW:
        scale = _vmf(anchors, [[v for v, p, _ in s if p] for s in sets], 0.5)
    return candidate_rows_loop(anchors, sets, TAU, positives_in_denominator=in_den, pos_scale=scale)


def _sets_a_to_b(a, b, neg, group, q, *, dup=None, use_neg=True, use_group=False):
    sets = []
    for i in range(N):
        row = []
        for j in range(N):
            weight = q[i, j]
            if dup is not None and dup[i] == dup[j] and i != j:
                weight = 0.0
            row.append((b[j], j == i, weight))
        if use_neg:
            row += [(neg[m], False, q[i, N + m]) for m in range(M)]
        if use_group:
            off = N + (M if use_neg else 0)
            row += [(group[i, k], False, q[i, off + k]) for k in range(K)]
        sets.append(row)
    return sets


def _sets_b_to_a(a, b, q, *, dup=None):
    sets = []
    for i in range(N):
        row = []
        for j in range(N):
            weight = q[j, i]
            if dup is not None and dup[i] == dup[j] and i != j:
                weight = 0.0
            row.append((a[j], j == i, weight))
        sets.append(row)
    return sets


def _sets_two_view(a, b, q, *, sample_level: bool, dup=None, neg=None):
    z = torch.cat([a, b])
    sets = []
    for r in range(2 * N):
        row = []
        for c in range(2 * N):
            if c == r:
                continue
            weight = q[r % N, c % N] if sample_level else q[r, c]
            if dup is not None and dup[r % N] == dup[c % N] and c != (r + N) % (2 * N):
                weight = 0.0
            row.append((z[c], c == (r + N) % (2 * N), weight))
        if neg is not None:
            row += [(neg[m], False, q[r, 2 * N + m]) for m in range(M)]
        sets.append(row)
    return z, sets


def _run(cls, mode, path, args, kwargs, monkeypatch):
    loss = cls(TAU, mode=mode, tile_size=3 if path == "tiled" else None, **kwargs.pop("init", {}))
    if path == "weights":
        monkeypatch.setattr(type(loss), "_sparse_positive_pairs", lambda self, d, logits: None)
    value = loss(*args, **kwargs)
    monkeypatch.undo()
    return value


def _check(value, ref, leaves):
    torch.testing.assert_close(value, ref, rtol=1e-10, atol=1e-10)
    got = torch.autograd.grad(value, leaves, allow_unused=True)
    want = torch.autograd.grad(ref, leaves, allow_unused=True)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None or float(g.abs().max()) == 0
        else:
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


CLASSES = [InfoNCE, DCL, DCLW]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("form", ["dense", "callable"])
def test_denominator_weights_a_to_b_with_negatives_and_groups(cls, path, form, monkeypatch):
    a, b, neg, group, _, q, _ = _data()
    qq = q[:N, : N + M + K].clone()
    weights = qq if form == "dense" else (lambda rows, cols: qq[rows, cols])
    value = _run(cls, "a_to_b", path, (a, b), dict(negatives=neg, candidates=group, denominator_weights=weights),
                 monkeypatch)
    ref = _reference(_sets_a_to_b(a, b, neg, group, qq, use_group=True), a, cls).mean()
    _check(value, ref, (a, b, neg, group))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("form", ["dense", "callable"])
def test_denominator_weights_symmetric(cls, path, form, monkeypatch):
    a, b, neg, group, _, q, _ = _data(1)
    qq = q[:N, : N + M + K].clone()
    weights = qq if form == "dense" else (lambda rows, cols: qq[rows, cols])
    value = _run(cls, "symmetric", path, (a, b), dict(negatives=neg, candidates=group,
                                                      denominator_weights=weights), monkeypatch)
    forward = _reference(_sets_a_to_b(a, b, neg, group, qq, use_group=True), a, cls)
    backward = _reference(_sets_b_to_a(a, b, qq), b, cls)
    _check(value, (forward.mean() + backward.mean()) / 2, (a, b, neg, group))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("level", ["sample", "direction_negatives", "callable"])
def test_denominator_weights_two_view(cls, path, level, monkeypatch):
    a, b, neg, _, _, q, _ = _data(2)
    kwargs: dict = {}
    if level == "sample":
        qq = q[:N, :N].clone()
        kwargs["denominator_weights"] = qq
        z, sets = _sets_two_view(a, b, qq, sample_level=True)
    else:
        qq = q[:, : 2 * N + M].clone()
        kwargs["negatives"] = neg
        kwargs["denominator_weights"] = qq if level == "direction_negatives" else (lambda r, c: qq[r, c])
        z, sets = _sets_two_view(a, b, qq, sample_level=False, neg=neg)
    value = _run(cls, "two_view", path, (a, b), kwargs, monkeypatch)
    _check(value, _reference(sets, z, cls).mean(), (a, b, neg))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_listwise_candidates(cls, path, weighted, monkeypatch):
    a, _, _, group, _, q, pos = _data(3)
    qq = q[:N, :K].clone().clamp_min(0.1)
    kwargs = dict(candidates=group, positive_index=pos)
    if weighted:
        kwargs["denominator_weights"] = qq
    value = _run(cls, "a_to_b", path, (a,), kwargs, monkeypatch)
    ones = torch.ones_like(qq)
    sets = [[(group[i, k], k == int(pos[i]), (qq if weighted else ones)[i, k]) for k in range(K)] for i in range(N)]
    if cls is not InfoNCE:  # DCL keeps only the K - 1 negatives in the denominator
        assert K > 1
    _check(value, _reference(sets, a, cls).mean(), (a, group))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("mode", ["two_view", "a_to_b", "symmetric"])
def test_duplicates_excluded(cls, mode, path, monkeypatch):
    a, b, neg, _, labels, _, _ = _data(4)
    ones = torch.ones(2 * N, 2 * N + M + K, dtype=torch.float64)
    value = _run(cls, mode, path, (a, b), dict(labels=labels, init={"duplicates": "exclude"}), monkeypatch)
    if mode == "two_view":
        z, sets = _sets_two_view(a, b, ones, sample_level=True, dup=labels)
        ref = _reference(sets, z, cls).mean()
    else:
        forward = _reference(_sets_a_to_b(a, b, neg, None, ones, dup=labels, use_neg=False), a, cls)
        ref = forward.mean()
        if mode == "symmetric":
            ref = (ref + _reference(_sets_b_to_a(a, b, ones, dup=labels), b, cls).mean()) / 2
    _check(value, ref, (a, b))


@pytest.mark.parametrize("path", PATHS)
def test_duplicates_with_denominator_weights_and_negatives(path, monkeypatch):
    a, b, neg, _, labels, q, _ = _data(5)
    qq = q[:N, : N + M].clone()
    value = _run(InfoNCE, "a_to_b", path, (a, b), dict(labels=labels, negatives=neg, denominator_weights=qq,
                                                       init={"duplicates": "exclude"}), monkeypatch)
    ref = _reference(_sets_a_to_b(a, b, neg, None, qq, dup=labels), a, InfoNCE).mean()
    _check(value, ref, (a, b, neg))


def test_duplicates_remove_the_log2_floor():
    """A perfect embedding with one duplicated document: labels as positives score log 2 on the two
    duplicate queries (two equal positives in the denominator); excluding them scores ~0."""
    docs = torch.eye(4, dtype=torch.float64)
    docs[1] = docs[0]  # documents 0 and 1 are the same document
    ids = torch.tensor([7, 7, 8, 9])
    per_row = InfoNCE(0.01, mode="a_to_b", reduction="none")
    as_positive = per_row(docs, docs, labels=ids)
    excluded = InfoNCE(0.01, mode="a_to_b", duplicates="exclude", reduction="none")(docs, docs, labels=ids)
    assert as_positive[:2].tolist() == pytest.approx([math.log(2)] * 2, abs=1e-12)
    assert excluded.abs().max() < 1e-12
    plain = per_row(docs, docs)  # without ids the duplicate is a negative as similar as the target
    assert plain[:2].tolist() == pytest.approx([math.log(2)] * 2, abs=1e-12)


def test_unit_weights_change_nothing():
    a, b, neg, group, _, _, _ = _data(6)
    for mode in ("two_view", "a_to_b", "symmetric"):
        loss = InfoNCE(TAU, mode=mode)
        cols = 2 * N + M if mode == "two_view" else N + M
        rows = 2 * N if mode == "two_view" else N
        torch.testing.assert_close(loss(a, b, negatives=neg, denominator_weights=torch.ones(rows, cols,
                                                                                            dtype=torch.float64)),
                                   loss(a, b, negatives=neg))


def test_zero_weight_on_every_candidate_is_named():
    a, b, _, _, _, _, _ = _data(7)
    with pytest.raises(ValueError, match="negatives: some anchors have no candidate left"):
        InfoNCE(TAU, mode="a_to_b")(a, b, denominator_weights=torch.zeros(N, N, dtype=torch.float64))


@pytest.mark.parametrize("tile", [None, 3])
def test_argument_errors_name_the_argument(tile):
    a, b, neg, group, labels, q, pos = _data(8)
    loss = InfoNCE(TAU, mode="a_to_b", tile_size=tile)
    cases = [
        (dict(denominator_weights=torch.ones(N, N + 1)), ValueError, "denominator_weights: expected shape"),
        (dict(denominator_weights=-torch.ones(N, N)), ValueError, "denominator_weights: expected finite non-neg"),
        (dict(denominator_weights=torch.full((N, N), float("nan"))), ValueError, "denominator_weights"),
        (dict(denominator_weights=lambda r, c: torch.ones(2, 2)), ValueError, "denominator_weights: expected a tile"),
        (dict(denominator_weights=[[1.0]]), TypeError, "denominator_weights"),
        (dict(candidates=group[:, :, :2]), ValueError, "candidates"),
        (dict(candidates=group[:3]), ValueError, "candidates"),
        (dict(candidates=group[0]), ValueError, "candidates"),
        (dict(candidates=group, positive_index=pos), ValueError, "positive_index"),
        (dict(positive_index=pos), ValueError, "positive_index"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            loss(a, b, **kwargs)
    with pytest.raises(ValueError, match="positive_index"):
        loss(a, candidates=group)
    with pytest.raises(ValueError, match="positive_index: expected indices in 0..1"):
        loss(a, candidates=group, positive_index=pos + K)
    with pytest.raises(TypeError, match="positive_index"):
        loss(a, candidates=group, positive_index=pos.double())
    with pytest.raises(ValueError, match="candidates: a listwise call"):
        loss(a, candidates=group, positive_index=pos, labels=labels)
    with pytest.raises(ValueError, match="candidates: per-anchor candidate groups"):
        InfoNCE(TAU, tile_size=tile)(a, b, candidates=group)
    with pytest.raises(ValueError, match="duplicates: 'exclude' needs b"):
        InfoNCE(TAU, duplicates="exclude", tile_size=tile)(a, labels=labels)
    with pytest.raises(ValueError, match="duplicates: 'exclude' needs b"):
        InfoNCE(TAU, duplicates="exclude", tile_size=tile)(a, b)
    with pytest.raises(ValueError, match="duplicates: unknown option"):
        InfoNCE(duplicates="drop")
    with pytest.raises(ValueError, match="candidates: contains NaN"):
        loss(a, b, candidates=torch.full_like(group, float("nan")))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_finite(dtype):
    a, b, neg, group, labels, q, pos = _data(9)
    a, b, neg, group = (t.detach().to(dtype).requires_grad_() for t in (a, b, neg, group))
    for tile in (None, 3):
        loss = InfoNCE(TAU, mode="symmetric", tile_size=tile, duplicates="exclude")
        value = loss(a, b, labels=labels, negatives=neg, candidates=group, denominator_weights=q[:N, : N + M + K])
        assert torch.isfinite(value)
        grads = torch.autograd.grad(value, (a, b, neg, group))
        assert all(bool(torch.isfinite(g.float()).all()) for g in grads)


@pytest.mark.parametrize("tile", [None, 3])
def test_claps_imposter_column_is_a_candidate_group(tile):
    """CLAPS's L_1 (Lee et al., ICLR 2021): in-batch targets plus each source's own imposter as an
    extra column equals ``InfoNCE(a_to_b)`` with a ``K = 1`` candidate group."""
    from contrastkit.generation.claps import claps_logits_loss

    a, b, _, group, _, _, _ = _data(10)
    ours = InfoNCE(TAU, mode="a_to_b", tile_size=tile)(a, b, candidates=group[:, :1])
    _check(ours, claps_logits_loss(a, b, group[:, 0], None, TAU), (a, b, group))


def test_variants_are_declared_options_and_presets_equal_them():
    from contrastkit.losses import HardNegativeInfoNCE
    from contrastkit.losses.infonce import VARIANTS

    a, b, _, _, _, _, _ = _data(11)
    pairs = [(DCL(0.2), InfoNCE(0.2, decoupled=True)),
             (DCLW(0.2, sigma=0.3), InfoNCE(0.2, decoupled=True, vmf_sigma=0.3)),
             (HardNegativeInfoNCE(0.2, top_k=2), InfoNCE(0.2, hard_top_k=2)),
             (HardNegativeInfoNCE(0.2, fraction=0.5), InfoNCE(0.2, hard_fraction=0.5))]
    for preset, option in pairs:
        torch.testing.assert_close(preset(a, b), option(a, b), rtol=0, atol=0)
        assert [v.option for v in preset.variants()] == [v.option for v in option.variants()]
    assert {v.option: (v.tiles, v.distributes) for v in VARIANTS.values()} == {
        "decoupled": (True, True), "vmf_sigma": (True, True), "hard_negatives": (False, True),
        "duplicates": (True, True)}
    assert InfoNCE().tiles and DCLW().tiles and InfoNCE(duplicates="exclude").tiles
    assert not HardNegativeInfoNCE(top_k=1).tiles and HardNegativeInfoNCE(top_k=1).distributes
    with pytest.raises(ValueError, match="tile_size: InfoNCE uses 'hard_negatives'"):
        InfoNCE(hard_fraction=0.5, tile_size=8)
    with pytest.raises(TypeError, match="decoupled: fixed by DCL"):
        DCL(decoupled=False)
    with pytest.raises(ValueError, match="hard_top_k, hard_fraction"):
        InfoNCE(hard_top_k=1, hard_fraction=0.5)
    with pytest.raises(ValueError, match="hard_top_k: expected an integer"):
        InfoNCE(hard_top_k=0)
    with pytest.raises(TypeError, match="decoupled: expected a bool"):
        InfoNCE(decoupled="yes")  # type: ignore[arg-type]

    class Masked(InfoNCE):  # overriding a dense hook declares the class dense-only, once
        def denominator_mask(self, logits, weight, valid):
            return valid

    assert Masked._dense_only_hooks == ("denominator_mask",) and not Masked().tiles
