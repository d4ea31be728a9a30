"""Dialog2Flow's soft-label InfoNCE and SPACE-2's tree-soft SupCon (InfoNCE with soft weights): exact checks
against sentence-transformers' symmetric MNRL, the hard loss, a soft-target cross-entropy reference, a naive
double loop, tiled == dense, and bad input."""

import pytest
import torch
from torch import nn

from contrastkit.losses import InfoNCE, SoftLabelInfoNCE, label_similarity_weights, views_tile


def _leaves(n, d, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=dtype).requires_grad_(),
            torch.randn(n, d, generator=g, dtype=dtype).requires_grad_())


def _soft_ce_reference(a, b, labels, label_emb, tau, tau_label):
    """The paper's formula written out: L = 0.5 [CE(S, Y) + CE(S^T, Y)] with probability targets."""
    s = nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T / tau
    g = nn.functional.normalize(label_emb.double(), dim=1)
    y = torch.softmax((g[labels] @ g[labels].T) / tau_label, dim=1).to(s.dtype)
    return 0.5 * (nn.functional.cross_entropy(s, y) + nn.functional.cross_entropy(s.T, y))


def test_soft_loss_equals_the_soft_target_cross_entropy():
    a, b = _leaves(10, 6, 0)
    labels = torch.tensor([0, 1, 2, 0, 3, 1, 4, 2, 0, 3])
    label_emb = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    ours = SoftLabelInfoNCE(0.05, label_temperature=0.35)(a, b, labels=labels, label_embeddings=label_emb)
    ref = _soft_ce_reference(a, b, labels, label_emb, 0.05, 0.35)
    torch.testing.assert_close(ours, ref)
    ga = torch.autograd.grad(ours, (a, b))
    gr = torch.autograd.grad(_soft_ce_reference(a, b, labels, label_emb, 0.05, 0.35), (a, b))
    for x, y in zip(ga, gr, strict=True):
        torch.testing.assert_close(x, y)


@pytest.mark.filterwarnings("ignore:The MultipleNegativesSymmetricRankingLoss is deprecated")
def test_distinct_labels_and_tau_label_to_zero_equal_sentence_transformers_symmetric_mnrl():
    losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")

    class Passthrough(nn.Module):
        def forward(self, features):
            return {"sentence_embedding": features["embedding"]}

    a, b = _leaves(12, 8, 2)
    label_emb = torch.randn(12, 16, generator=torch.Generator().manual_seed(3))
    labels = torch.randperm(12, generator=torch.Generator().manual_seed(4))
    ours = SoftLabelInfoNCE(0.05, label_temperature=1e-6)(a, b, labels=labels, label_embeddings=label_emb)
    peer = losses.MultipleNegativesSymmetricRankingLoss(Passthrough(), scale=20.0)
    theirs = peer([{"embedding": a}, {"embedding": b}], labels=None)
    assert float(theirs.detach()) > 0.5  # random embeddings: the value is far from 0, so equality means something
    torch.testing.assert_close(ours, theirs.to(ours.dtype))
    for x, y in zip(torch.autograd.grad(ours, (a, b)), torch.autograd.grad(theirs, (a, b)), strict=True):
        torch.testing.assert_close(x, y)


def test_duplicated_labels_and_tau_label_to_zero_equal_the_hard_loss():
    a, b = _leaves(12, 8, 5)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 3, 3, 2, 4, 1, 0])
    label_emb = torch.randn(5, 16, generator=torch.Generator().manual_seed(6))
    soft = SoftLabelInfoNCE(0.1, label_temperature=1e-6)(a, b, labels=labels, label_embeddings=label_emb)
    # hard reference: uniform targets over the same-label candidates, written out
    s = nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T / 0.1
    same = (labels[:, None] == labels[None, :]).double()
    y = same / same.sum(1, keepdim=True)
    hard = 0.5 * (nn.functional.cross_entropy(s, y) + nn.functional.cross_entropy(s.T, y))
    torch.testing.assert_close(soft, hard)
    # and the core's hard (labels=) symmetric InfoNCE is the same loss
    torch.testing.assert_close(InfoNCE(0.1, mode="symmetric")(a, b, labels=labels), hard)
    # a larger tau' gives partial credit: a different value
    warm = SoftLabelInfoNCE(0.1, label_temperature=0.35)(a, b, labels=labels, label_embeddings=label_emb)
    assert abs(float((warm - hard).detach())) > 1e-3


def test_targets_rows_sum_to_one_and_no_gradient_reaches_the_label_encoder():
    encoder = nn.Linear(4, 8)  # stands in for the frozen label encoder g
    label_inputs = torch.randn(5, 4, generator=torch.Generator().manual_seed(7))
    label_emb = encoder(label_inputs)
    assert label_emb.requires_grad
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1])
    tile = label_similarity_weights(labels, label_emb, 0.35)
    e = tile(slice(0, 7), slice(0, 7))
    assert not e.requires_grad
    torch.testing.assert_close(e, e.T)
    y = e / e.sum(1, keepdim=True)
    g = nn.functional.normalize(label_emb.detach().double(), dim=1)[labels]
    torch.testing.assert_close(y, torch.softmax(g @ g.T / 0.35, dim=1))
    torch.testing.assert_close(y.sum(1), torch.ones(7, dtype=y.dtype))
    a, b = _leaves(7, 6, 8)
    SoftLabelInfoNCE()(a, b, labels=labels, label_embeddings=label_emb).backward()
    assert a.grad is not None and all(p.grad is None for p in encoder.parameters())


def test_soft_label_loss_tiled_equals_dense():
    a, b = _leaves(40, 8, 9)
    labels = torch.randint(0, 6, (40,), generator=torch.Generator().manual_seed(10))
    label_emb = torch.randn(6, 16, generator=torch.Generator().manual_seed(11))
    dense = SoftLabelInfoNCE(0.05, tile_size=None)(a, b, labels=labels, label_embeddings=label_emb)
    tiled = SoftLabelInfoNCE(0.05, tile_size=16)(a, b, labels=labels, label_embeddings=label_emb)
    torch.testing.assert_close(tiled, dense)
    for x, y in zip(torch.autograd.grad(tiled, (a, b)), torch.autograd.grad(dense, (a, b)), strict=True):
        torch.testing.assert_close(x, y)


def test_soft_label_loss_bad_input_is_named():
    a, b = _leaves(4, 3, 12)
    emb = torch.randn(3, 5)
    loss = SoftLabelInfoNCE()
    with pytest.raises(ValueError, match="^labels: expected indices into the 3 rows"):
        loss(a, b, labels=torch.tensor([0, 1, 2, 3]), label_embeddings=emb)
    with pytest.raises(ValueError, match="^labels: expected shape"):
        loss(a, b, labels=torch.tensor([0, 1]), label_embeddings=emb)
    with pytest.raises(TypeError, match="^labels: expected an integer dtype"):
        loss(a, b, labels=torch.zeros(4), label_embeddings=emb)
    with pytest.raises(ValueError, match="^label_embeddings: expected a rank-2"):
        loss(a, b, labels=torch.tensor([0, 1, 2, 0]), label_embeddings=torch.randn(3))
    with pytest.raises(ValueError, match="^b: expected shape|^b: "):
        loss(a, b[:3], labels=torch.tensor([0, 1, 2, 0]), label_embeddings=emb)
    with pytest.raises(ValueError, match="^label_temperature: "):
        SoftLabelInfoNCE(label_temperature=0.0)


# ------------------------------------------------------------------------------ SPACE-2's soft-mask SupCon
def _naive_soft_supcon(z1, z2, m, tau):
    """SPACE-2's SupConLoss with a real-valued mask, as a double loop over the 2N views."""
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n2 = z.shape[0]
    n = n2 // 2
    total = 0.0
    for a in range(n2):
        log_norm = torch.logsumexp(torch.stack([z[a] @ z[c] / tau for c in range(n2) if c != a]), 0)
        num, den = 0.0, 0.0
        for b in range(n2):
            if b == a:
                continue
            w = m[a % n, b % n]
            num = num + w * (z[a] @ z[b] / tau - log_norm)
            den = den + w
        total = total - num / den
    return total / n2


def _symmetric_mask(n, seed):
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(n, n, generator=g, dtype=torch.float64)
    m = (m + m.T) / 2
    m.fill_diagonal_(1.0)
    return m


def test_soft_mask_supcon_equals_a_double_loop_dense_callable_and_tiled():
    z1, z2 = _leaves(9, 5, 13)
    m = _symmetric_mask(9, 14)
    ref = _naive_soft_supcon(z1, z2, m, 0.07)
    dense = InfoNCE(0.07, tile_size=None)(z1, z2, weights=m)
    callable_dense = InfoNCE(0.07, tile_size=None)(z1, z2, weights=views_tile(lambda r, c: m[r, c], 9))
    tiled = InfoNCE(0.07, tile_size=4)(z1, z2, weights=views_tile(lambda r, c: m[r, c], 9))
    for value in (dense, callable_dense, tiled):
        torch.testing.assert_close(value, ref)
    g_ref = torch.autograd.grad(ref, (z1, z2))
    for value in (dense, tiled):
        for x, y in zip(torch.autograd.grad(value, (z1, z2)), g_ref, strict=True):
            torch.testing.assert_close(x, y)


def test_identity_mask_is_simclr_and_a_label_mask_is_supcon():
    z1, z2 = _leaves(8, 5, 15)
    eye = torch.eye(8, dtype=torch.float64)
    torch.testing.assert_close(InfoNCE(0.07)(z1, z2, weights=eye), InfoNCE(0.07)(z1, z2))
    torch.testing.assert_close(InfoNCE(0.07)(z1, z2, weights=eye), _naive_soft_supcon(z1, z2, eye, 0.07))
    labels = torch.tensor([0, 1, 0, 2, 1, 2, 0, 3])
    mask = (labels[:, None] == labels[None, :]).double()
    torch.testing.assert_close(InfoNCE(0.07)(z1, z2, weights=mask), InfoNCE(0.07)(z1, z2, labels=labels))


def test_views_tile_assembles_stacked_blocks():
    m = torch.arange(25, dtype=torch.float64).reshape(5, 5)
    full = views_tile(lambda r, c: m[r, c], 5)(slice(0, 10), slice(0, 10))
    torch.testing.assert_close(full, m.repeat(2, 2))
    torch.testing.assert_close(views_tile(lambda r, c: m[r, c], 5)(slice(3, 8), slice(4, 6)), m.repeat(2, 2)[3:8, 4:6])
    with pytest.raises(ValueError, match="^n: "):
        views_tile(lambda r, c: m[r, c], 0)


def test_a_tile_callable_for_another_batch_size_is_named():
    z1, z2 = _leaves(6, 3, 17)
    m = _symmetric_mask(5, 18)  # describes 5 samples, the batch has 6
    for tile_size in (None, 4):
        with pytest.raises(ValueError, match="^weights: the tile callable describes 2 views x 5 samples"):
            InfoNCE(0.07, tile_size=tile_size)(z1, z2, weights=views_tile(lambda r, c: m[r, c], 5))
    with pytest.raises(ValueError, match="^weights: expected shape \\(12, 12\\)"):
        InfoNCE(0.07)(z1, z2, weights=m)


def test_a_soft_mask_row_with_no_positive_is_named():
    z1, z2 = _leaves(4, 3, 16)
    zero = torch.zeros(4, 4, dtype=torch.float64)  # not even the other view: no positive anywhere
    with pytest.raises(ValueError, match="^weights: row 0 of the soft weights sums to 0"):
        InfoNCE(0.07)(z1, z2, weights=zero)
    with pytest.raises(ValueError, match="^weights: expected a tile of shape|^weights: expected shape"):
        InfoNCE(0.07, tile_size=None)(z1, z2, weights=lambda r, c: torch.ones(2, 2, dtype=torch.float64))
