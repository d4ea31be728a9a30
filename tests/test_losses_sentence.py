"""SimCSE and input-label InfoNCE against naive loops, cross-entropy and sentence-transformers' MNRL."""

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE, InputLabelInfoNCE, SimCSE, contrastive_pairs


def _naive_simcse(z1, z2, z3=None, tau=0.05, w=0.0):
    total = 0.0
    n = z1.shape[0]
    for i in range(n):
        logits = [float(F.cosine_similarity(z1[i], z2[j], dim=0)) / tau for j in range(n)]
        if z3 is not None:
            logits += [float(F.cosine_similarity(z1[i], z3[j], dim=0)) / tau + (w if j == i else 0.0)
                       for j in range(n)]
        m = max(logits)
        total += -logits[i] + m + math.log(sum(math.exp(v - m) for v in logits))
    return total / n


def test_simcse_equals_a_naive_loop_with_and_without_hard_negatives():
    g = torch.Generator().manual_seed(0)
    z1, z2, z3 = (torch.randn(6, 5, generator=g, dtype=torch.float64) for _ in range(3))
    assert float(SimCSE()(z1, z2)) == pytest.approx(_naive_simcse(z1, z2), rel=1e-10)
    assert float(SimCSE(0.1)(z1, z2, negatives=z3)) == pytest.approx(_naive_simcse(z1, z2, z3, 0.1), rel=1e-10)
    weighted = SimCSE(0.1, hard_negative_weight=0.7)(z1, z2, negatives=z3)
    assert float(weighted) == pytest.approx(_naive_simcse(z1, z2, z3, 0.1, 0.7), rel=1e-10)
    # the weight is in the denominator only: a positive weight makes the loss larger
    assert float(weighted) > float(SimCSE(0.1)(z1, z2, negatives=z3))


def test_simcse_equals_sentence_transformers_mnrl():
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.util import cos_sim

    g = torch.Generator().manual_seed(1)
    z1, z2, z3 = (torch.randn(5, 8, generator=g) for _ in range(3))
    # MNRL's core: CE(scale * cos(anchor, [positives | negatives]), arange), as in its forward
    for negatives in (None, z3):
        cands = z2 if negatives is None else torch.cat([z2, z3])
        ref = F.cross_entropy(cos_sim(z1, cands) * 20.0, torch.arange(5))
        ours = SimCSE(1 / 20.0)(z1, z2, negatives=negatives)
        assert float(ours) == pytest.approx(float(ref), rel=1e-5)
    assert st is not None


def test_simcse_refuses_bad_input():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="b:"):
        SimCSE()(z)
    with pytest.raises(TypeError, match="mode"):
        SimCSE(mode="two_view")
    with pytest.raises(ValueError, match="negatives"):
        SimCSE(hard_negative_weight=1.0)(z, z)
    with pytest.raises(ValueError, match="hard_negative_weight"):
        SimCSE(hard_negative_weight=float("nan"))


def test_simcse_half_precision_matches_float32():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    ref = float(SimCSE()(z1, z2))
    for dtype in (torch.float16, torch.bfloat16):
        assert float(SimCSE()(z1.to(dtype), z2.to(dtype))) == pytest.approx(ref, rel=2e-2)


def test_input_label_infonce_with_all_labels_is_cross_entropy_with_label_tied_weights():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(10, 6, generator=g, dtype=torch.float64)
    labels_table = torch.randn(4, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (10,), generator=g)
    tau = 0.2
    ref = F.cross_entropy(F.normalize(x, dim=1) @ F.normalize(labels_table, dim=1).T / tau, y)
    ours = InputLabelInfoNCE(tau)(x, labels_table, y)
    assert ours.dtype == torch.float64
    assert float(ours) == pytest.approx(float(ref), rel=1e-12)
    # dot similarity: an un-normalised linear classifier whose weight rows are the label embeddings
    ref_dot = F.cross_entropy(x @ labels_table.T / tau, y)
    assert float(InputLabelInfoNCE(tau, similarity="dot")(x, labels_table, y)) == pytest.approx(float(ref_dot),
                                                                                                 rel=1e-12)
    # the same through the one entry point
    assert float(contrastive_pairs("input_label", InputLabelInfoNCE(tau), x, labels_table, labels=y)) == \
        pytest.approx(float(ref), rel=1e-12)


def test_input_label_infonce_with_sampled_candidates_is_a_restricted_softmax():
    g = torch.Generator().manual_seed(4)
    x, table = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 4, 2])
    cand = torch.tensor([[1, 0, 5], [4, 3, 2], [5, 2, 0]])
    logits = F.normalize(x, dim=1) @ F.normalize(table, dim=1).T / 0.1
    naive = sum(-logits[i, y[i]] + torch.logsumexp(logits[i, cand[i]], 0) for i in range(3)) / 3
    assert float(InputLabelInfoNCE()(x, table, y, candidate_labels=cand)) == pytest.approx(float(naive), rel=1e-12)
    with pytest.raises(ValueError, match="gold label"):
        InputLabelInfoNCE()(x, table, y, candidate_labels=torch.tensor([[1, 2, 3]] * 3))
    with pytest.raises(ValueError, match="labels"):
        InputLabelInfoNCE()(x, table, torch.tensor([0, 9, 1]))
    with pytest.raises(ValueError, match="label_embeddings"):
        InputLabelInfoNCE()(x, table[:, :4], y)


def test_input_input_contrast_is_the_infonce_call():
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    loss = InfoNCE(0.1, mode="a_to_b")
    assert float(contrastive_pairs("input_input", loss, a, b)) == float(loss(a, b))
    with pytest.raises(ValueError, match="source"):
        contrastive_pairs("label_label", loss, a, b)
    with pytest.raises(TypeError, match="InputLabelInfoNCE"):
        contrastive_pairs("input_label", loss, a, b, labels=torch.zeros(6, dtype=torch.long))
