"""Parity of contrastkit's InfoNCE family with peer libraries in the default test environment.

Peers: pytorch-metric-learning (``NTXentLoss``, ``SupConLoss``) and sentence-transformers
(``MultipleNegativesRankingLoss`` and its cached variant). Each case runs the peer's real class on
fixed random float64 batches and compares the loss value and the gradients with respect to every
input embedding to 1e-6. lightly and open_clip need torchvision and live in ``tests/peer``
(run with ``scripts/peer_parity.sh``).

Only cases where the peer's definition matches contrastkit's are compared; the exclusions are
stated next to each peer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from contrastkit.losses import InfoNCE

pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
st_losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")

TOL = 1e-6
DTYPE = torch.float64


def _leaves(*shapes: tuple[int, int], seed: int) -> list[Tensor]:
    """Fixed random float64 leaf tensors that record gradients."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=gen, dtype=DTYPE).requires_grad_() for s in shapes]


def _value_and_grads(fn: Callable[..., Tensor], inputs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """Loss value and its gradient with respect to each input (fresh graph each call).

    Uses ``backward()`` rather than ``autograd.grad`` because the cached sentence-transformers loss
    delivers its gradients from a backward hook on a detached loss.
    """
    for x in inputs:
        x.grad = None
    loss = fn(*inputs)
    loss.backward()
    grads = [x.grad.detach().clone() for x in inputs]
    for x in inputs:
        x.grad = None
    return loss.detach(), grads


def _assert_parity(ours: Callable[..., Tensor], peer: Callable[..., Tensor], inputs: list[Tensor]) -> None:
    value, grads = _value_and_grads(ours, inputs)
    peer_value, peer_grads = _value_and_grads(peer, inputs)
    assert value.dtype == DTYPE and peer_value.dtype == DTYPE
    torch.testing.assert_close(value, peer_value, atol=TOL, rtol=TOL)
    for g, pg in zip(grads, peer_grads, strict=True):
        assert g.abs().sum() > 0  # a zero gradient would make the comparison vacuous
        torch.testing.assert_close(g, pg, atol=TOL, rtol=TOL)


# --------------------------------------------------------------------------- pytorch-metric-learning
# PML's NTXentLoss scores every (anchor, positive) pair separately with the *other positives*
# removed from the denominator, so with several positives per anchor it is not SupCon's L_out;
# it matches contrastkit only for one positive per anchor (two-view SimCLR), which is what we test.
# SupCon is compared against PML's SupConLoss instead.


@pytest.mark.parametrize(("n", "d", "tau"), [(8, 16, 0.1), (33, 7, 0.5), (64, 32, 0.07)])
def test_ntxent_two_view_matches_pml(n: int, d: int, tau: float) -> None:
    peer = pml_losses.NTXentLoss(temperature=tau)
    ours = InfoNCE(temperature=tau, mode="two_view")

    def peer_fn(z1: Tensor, z2: Tensor) -> Tensor:
        labels = torch.cat([torch.arange(n), torch.arange(n)])
        return peer(torch.cat([z1, z2]), labels)

    _assert_parity(lambda z1, z2: ours(z1, z2), peer_fn, _leaves((n, d), (n, d), seed=n))


def test_clip_symmetric_matches_pml_with_ref_emb() -> None:
    # PML scores anchors against a separate reference set with ref_emb / ref_labels: one CLIP
    # direction. ref_labels must be another tensor object than labels, else PML treats the two
    # as one set and drops the diagonal, i.e. the positives (it then returns 0).
    n, d, tau = 24, 12, 0.1
    ids, ref = torch.arange(n), torch.arange(n).clone()
    peer = pml_losses.NTXentLoss(temperature=tau)
    ours = InfoNCE(temperature=tau, mode="symmetric")

    def peer_fn(a: Tensor, b: Tensor) -> Tensor:
        return (peer(a, ids, ref_emb=b, ref_labels=ref) + peer(b, ids, ref_emb=a, ref_labels=ref)) / 2

    _assert_parity(lambda a, b: ours(a, b), peer_fn, _leaves((n, d), (n, d), seed=14))


@pytest.mark.parametrize("tau", [0.1, 0.3])
def test_supcon_single_view_matches_pml(tau: float) -> None:
    n, d = 48, 12
    labels = torch.randint(0, 6, (n,), generator=torch.Generator().manual_seed(3))
    peer = pml_losses.SupConLoss(temperature=tau)
    ours = InfoNCE(temperature=tau)
    _assert_parity(lambda z: ours(z, labels=labels), lambda z: peer(z, labels),
                   _leaves((n, d), seed=11))


def test_supcon_two_view_matches_pml() -> None:
    n, d, tau = 32, 10, 0.1
    labels = torch.randint(0, 5, (n,), generator=torch.Generator().manual_seed(4))
    peer = pml_losses.SupConLoss(temperature=tau)
    ours = InfoNCE(temperature=tau, mode="two_view")

    def peer_fn(z1: Tensor, z2: Tensor) -> Tensor:
        return peer(torch.cat([z1, z2]), torch.cat([labels, labels]))

    _assert_parity(lambda z1, z2: ours(z1, z2, labels=labels), peer_fn,
                   _leaves((n, d), (n, d), seed=12))


def test_supcon_anchors_without_positive_match_pml() -> None:
    # PML gives a singleton-label anchor loss 0 and its AvgNonZeroReducer leaves it out of the
    # mean; contrastkit's no_positive="ignore" documents the same behaviour.
    n, d, tau = 20, 8, 0.2
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 4, 5] * 2)
    labels[-1] = 99  # a singleton: no positive in the batch
    labels[5] = 98
    peer = pml_losses.SupConLoss(temperature=tau)
    ours = InfoNCE(temperature=tau, no_positive="ignore")
    _assert_parity(lambda z: ours(z, labels=labels), lambda z: peer(z, labels), _leaves((n, d), seed=13))


# --------------------------------------------------------------------------- sentence-transformers
# MNRL: scale s = 1 / tau (default 20), cosine similarity, anchors (queries) scored against the
# positives followed by the hard-negative columns; loss = mean_i [logsumexp_j(s * cos(q_i, d_j))
# - s * cos(q_i, d_i)]. That is contrastkit's InfoNCE(mode="a_to_b", negatives=...). The
# ("query_to_doc", "doc_to_query") per-direction variant is CLIP's symmetric loss; its
# doc_to_query direction scores documents against queries only (no hard negatives), as does
# contrastkit's symmetric mode. query_to_query / doc_to_doc and the hardness modes have no
# contrastkit counterpart and are not compared.


class _Passthrough(nn.Module):
    """Stand-in SentenceTransformer: returns the embeddings carried in the features dict."""

    def __getitem__(self, index: int) -> nn.Module:  # CachedMNRL inspects model[0]
        return nn.Identity()

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        return {"sentence_embedding": features["embedding"]}


def _columns(*tensors: Tensor) -> list[dict[str, Tensor]]:
    return [{"embedding": t} for t in tensors]


@pytest.mark.parametrize("num_negative_columns", [0, 1, 2])
def test_mnrl_matches_sentence_transformers(num_negative_columns: int) -> None:
    n, d, scale = 24, 16, 20.0
    inputs = _leaves(*[(n, d)] * (2 + num_negative_columns), seed=20 + num_negative_columns)
    peer = st_losses.MultipleNegativesRankingLoss(_Passthrough(), scale=scale)
    ours = InfoNCE(temperature=1 / scale, mode="a_to_b")

    def ours_fn(q: Tensor, pos: Tensor, *negs: Tensor) -> Tensor:
        return ours(q, pos, negatives=torch.cat(negs) if negs else None)

    def peer_fn(*cols: Tensor) -> Tensor:
        return peer(_columns(*cols), labels=None)

    _assert_parity(ours_fn, peer_fn, inputs)


def test_mnrl_symmetric_matches_clip_mode() -> None:
    n, d, scale = 24, 16, 10.0
    peer = st_losses.MultipleNegativesRankingLoss(
        _Passthrough(), scale=scale, directions=("query_to_doc", "doc_to_query"),
        partition_mode="per_direction")
    ours = InfoNCE(temperature=1 / scale, mode="symmetric")
    _assert_parity(lambda q, p: ours(q, p), lambda q, p: peer.compute_loss_from_embeddings([q, p], None),
                   _leaves((n, d), (n, d), seed=30))


def test_mnrl_symmetric_with_hard_negatives() -> None:
    n, d, scale = 16, 8, 20.0
    peer = st_losses.MultipleNegativesRankingLoss(
        _Passthrough(), scale=scale, directions=("query_to_doc", "doc_to_query"),
        partition_mode="per_direction")
    ours = InfoNCE(temperature=1 / scale, mode="symmetric")
    _assert_parity(lambda q, p, h: ours(q, p, negatives=h),
                   lambda q, p, h: peer.compute_loss_from_embeddings([q, p, h], None),
                   _leaves((n, d), (n, d), (n, d), seed=31))


@pytest.mark.parametrize("mini_batch_size", [5, 64])
def test_cached_mnrl_matches(mini_batch_size: int) -> None:
    # The cached loss runs its GradCache steps through the stand-in model: the embeddings are
    # re-"computed" in mini-batches and the cached gradients flow back to the leaf tensors.
    n, d, scale = 24, 16, 20.0
    peer = st_losses.CachedMultipleNegativesRankingLoss(_Passthrough(), scale=scale,
                                                        mini_batch_size=mini_batch_size)
    ours = InfoNCE(temperature=1 / scale, mode="a_to_b")
    _assert_parity(lambda q, p, h: ours(q, p, negatives=h),
                   lambda q, p, h: peer(_columns(q, p, h), labels=None),
                   _leaves((n, d), (n, d), (n, d), seed=40))


def test_parity_detects_a_wrong_temperature() -> None:
    """The comparison can fail: a different temperature is caught."""
    n, d = 16, 8
    peer = pml_losses.NTXentLoss(temperature=0.1)
    ours = InfoNCE(temperature=0.11)
    z1, z2 = _leaves((n, d), (n, d), seed=50)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(ours(z1, z2), peer(torch.cat([z1, z2]), torch.arange(n).repeat(2)),
                                   atol=TOL, rtol=TOL)
