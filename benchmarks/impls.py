"""The loss implementations the benchmark compares, with their memory models.

Every implementation is a factory ``make(loss, z1, z2, tau, tile_size) -> step`` where ``step()``
runs one forward and backward pass on the embeddings ``z1, z2`` (``(B, d)`` leaf tensors) and
returns the loss value (``None`` for the floor). ``loss`` is ``"ntxent"`` (SimCLR two-view
NT-Xent: ``2B`` anchors, ``2B - 2`` negatives each), ``"supcon"`` (two-view SupCon ``L_out`` with
:data:`SUPCON_CLASSES` classes, labels ``i mod 10``: ~``2B/10`` positives per anchor) or ``"clip"``
(CLIP's symmetric loss over ``B`` pairs). Imports happen inside the factories: the child process
imports only what it runs, and lightly / open_clip exist only in the ``.venv-peers`` environment (``env="peers"``).

``memory_bytes(loss, B, d)`` is a rough upper estimate of a case's peak memory, used to skip a
case before it starts (the parent also kills a child whose resident memory passes the cap).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

Step = Callable[[], "float | None"]
LOSSES = ("ntxent", "clip", "supcon")
SUPCON_CLASSES = 10
TWO_VIEW = ("ntxent", "supcon")


def supcon_labels(batch: int, device: torch.device | str = "cpu") -> Tensor:
    """Labels of the SupCon case: ``i mod SUPCON_CLASSES``."""
    return torch.arange(batch, device=device) % SUPCON_CLASSES


class Unsupported(RuntimeError):  # noqa: N818 - a skip signal, not an error
    """The implementation cannot run here (missing feature or package); the case is skipped."""


def matrix_elements(loss: str, batch: int) -> int:
    """Entries of the full similarity matrix: ``(2B)^2`` for two views, ``B^2`` for CLIP."""
    rows = 2 * batch if loss in TWO_VIEW else batch
    return rows * rows


@dataclass(frozen=True)
class Impl:
    """One benchmarked implementation."""

    name: str
    label: str
    env: str  # "main" (core venv) or "peers" (.venv-peers, torch 2.14.1 + torchvision)
    losses: tuple[str, ...]
    make: Callable[[str, Tensor, Tensor, float, int], Step]
    # bytes per similarity-matrix entry at peak (dense buffers alive at once x 4 bytes)
    bytes_per_entry: float = 0.0
    extra_memory: Callable[[str, int, int], float] = field(default=lambda loss, b, d: 0.0)

    def memory_bytes(self, loss: str, batch: int, dim: int) -> float:
        """Estimated peak memory of one forward + backward beyond the inputs."""
        return (self.bytes_per_entry * matrix_elements(loss, batch) + self.extra_memory(loss, batch, dim)
                + 16 * 4 * batch * dim)


def _backward_step(fn: Callable[[], Tensor], leaves: tuple[Tensor, ...]) -> Step:
    def step() -> float:
        for x in leaves:
            x.grad = None
        loss = fn()
        loss.backward()
        return float(loss.detach())

    return step


# ------------------------------------------------------------------------------------ floor
def make_floor(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """The three matrix products of any exact all-pairs loss: ``S = X Y^T``, ``dX = G Y``,
    ``dY = G^T X`` (``X = Y`` = both views stacked for NT-Xent; the two towers for CLIP).

    Computed in row blocks into preallocated, already-touched buffers, so the floor counts the
    arithmetic only: no page faults, no elementwise work, never the whole ``G`` in memory.
    """
    with torch.no_grad():
        if loss in TWO_VIEW:
            x = F.normalize(torch.cat([z1, z2]), dim=1)
            y = x
        else:
            x, y = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    rows, cols = x.shape[0], y.shape[0]
    block = max(1, min(rows, (64 << 20) // (4 * cols)))  # <= 64 MB per block buffer
    gen = torch.Generator().manual_seed(1)
    g = torch.rand(block, cols, generator=gen).to(x.device)
    s = torch.empty(block, cols, device=x.device)
    dx = torch.empty_like(x)
    dy = torch.empty_like(y)

    def step() -> None:
        dy.zero_()
        with torch.no_grad():
            for i in range(0, rows, block):
                j = min(rows, i + block)
                torch.mm(x[i:j], y.T, out=s[: j - i])
                torch.mm(g[: j - i], y, out=dx[i:j])
                dy.addmm_(g[: j - i].T, x[i:j])
        return None

    return step


def make_floor_symmetric(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """Two-view losses' own floor: with ``Y = X`` (symmetric logits and exclusions) an exact loss
    needs the Gram matrix ``S = X X^T`` and one backward product ``dX = (G + G^T) X``: two GEMMs
    of ``(2B)^2 d``, measured the same way as :func:`make_floor` (row blocks, touched buffers)."""
    if loss not in TWO_VIEW:
        raise Unsupported("the symmetric floor applies to two-view losses only")
    with torch.no_grad():
        x = F.normalize(torch.cat([z1, z2]), dim=1)
    rows = x.shape[0]
    block = max(1, min(rows, (64 << 20) // (4 * rows)))
    gen = torch.Generator().manual_seed(1)
    g = torch.rand(block, rows, generator=gen).to(x.device)
    s = torch.empty(block, rows, device=x.device)
    dx = torch.empty_like(x)

    def step() -> None:
        with torch.no_grad():
            for i in range(0, rows, block):
                j = min(rows, i + block)
                torch.mm(x[i:j], x.T, out=s[: j - i])
                torch.mm(g[: j - i], x, out=dx[i:j])
        return None

    return step


def make_floor_recompute(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """CLIP's bare work without a tile cache: per ``tile x tile`` tile (the kernel's own tiles,
    whose ``exp2`` passes stay in cache) the four products a recomputing exact kernel cannot avoid
    (``S = X_I Y_J^T`` forward, the same ``S`` again in backward, ``dX_I += H Y_J``,
    ``dY_J += H^T X_I``) and its two ``exp2`` passes (forward's sums, backward's gradient), nothing
    else: no sums, no scaling, no bookkeeping, no Python beyond the loop.

    The cached path drops one product and one ``exp2`` pass; what the recompute path costs above
    this is its other elementwise work and its per-tile overhead."""
    if loss in TWO_VIEW:
        raise Unsupported("the recompute bound is measured for CLIP (the non-shared kernel)")
    with torch.no_grad():
        x, y = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = x.shape[0]
    tile = max(1, min(tile_size, n))
    s = torch.zeros(tile, tile, device=x.device)
    dx = torch.empty_like(x)
    dy = torch.empty_like(y)
    blocks = [slice(i, min(i + tile, n)) for i in range(0, n, tile)]

    def step() -> None:
        dx.zero_()
        dy.zero_()
        with torch.no_grad():
            for rows in blocks:
                for cols in blocks:
                    t = s[: rows.stop - rows.start, : cols.stop - cols.start]
                    torch.mm(x[rows], y[cols].T, out=t).exp2_()
            for rows in blocks:
                for cols in blocks:
                    t = s[: rows.stop - rows.start, : cols.stop - cols.start]
                    torch.mm(x[rows], y[cols].T, out=t).exp2_()
                    dx[rows].addmm_(t, y[cols])
                    dy[cols].addmm_(t.T, x[rows])
        return None

    return step


# ------------------------------------------------------------------------------------ naive
def make_naive(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """Textbook dense loss (:mod:`benchmarks.naive`)."""
    from benchmarks.naive import naive_clip, naive_ntxent

    fn = naive_ntxent if loss == "ntxent" else naive_clip
    return _backward_step(lambda: fn(z1, z2, tau), (z1, z2))


# ------------------------------------------------------------------------------------ contrastkit
def _contrastkit(loss: str, tau: float, tile_size: int | None, **options: float) -> torch.nn.Module:
    from contrastkit.losses import InfoNCE

    mode = "two_view" if loss in TWO_VIEW else "symmetric"
    if options and "tile_cache_mb" not in inspect.signature(InfoNCE.__init__).parameters:
        raise Unsupported("InfoNCE has no tile_cache_mb in this checkout")
    has_tiles = "tile_size" in inspect.signature(InfoNCE.__init__).parameters
    if tile_size is None:  # always dense (the default became "auto" in later checkouts)
        return InfoNCE(temperature=tau, mode=mode, **({"tile_size": None} if has_tiles else {}))
    if not has_tiles:
        raise Unsupported("InfoNCE has no tile_size argument in this checkout")
    if tile_size == "auto" and inspect.signature(InfoNCE.__init__).parameters["tile_size"].default != "auto":
        raise Unsupported("InfoNCE has no tile_size='auto' in this checkout")
    return InfoNCE(temperature=tau, mode=mode, tile_size=tile_size, **options)


def _call(loss: str, module: torch.nn.Module, z1: Tensor, z2: Tensor) -> Step:
    if loss == "supcon":
        labels = supcon_labels(z1.shape[0], z1.device)
        return _backward_step(lambda: module(z1, z2, labels=labels), (z1, z2))
    return _backward_step(lambda: module(z1, z2), (z1, z2))


def make_contrastkit_dense(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """``contrastkit.losses.InfoNCE`` (dense)."""
    return _call(loss, _contrastkit(loss, tau, None), z1, z2)


def make_contrastkit_auto(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """``contrastkit.losses.InfoNCE()`` with its default ``tile_size="auto"`` (dense or tiled by size)."""
    return _call(loss, _contrastkit(loss, tau, "auto"), z1, z2)  # type: ignore[arg-type]


def make_contrastkit_tiled(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """``contrastkit.losses.InfoNCE(tile_size=...)`` (with the default tile cache where the checkout has one)."""
    return _call(loss, _contrastkit(loss, tau, tile_size), z1, z2)


def make_contrastkit_recompute(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """``InfoNCE(tile_size=..., tile_cache_mb=0)``: tiled, every tile recomputed in backward."""
    return _call(loss, _contrastkit(loss, tau, tile_size, tile_cache_mb=0), z1, z2)


# ------------------------------------------------------------------------------------ PML
def make_pml(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """pytorch-metric-learning ``NTXentLoss``: two-view with labels ``[0..B-1, 0..B-1]``; CLIP as
    the mean of the two directions with ``ref_emb`` (anchors one tower, candidates the other)."""
    from pytorch_metric_learning.losses import NTXentLoss

    peer = NTXentLoss(temperature=tau)
    ids = torch.arange(z1.shape[0])
    if loss == "ntxent":
        labels = torch.cat([ids, ids])
        return _backward_step(lambda: peer(torch.cat([z1, z2]), labels), (z1, z2))
    # ref_labels must be a different tensor object: PML treats ``ref_labels is labels`` as one
    # set and drops the diagonal (self) pairs, which here are the positives (loss 0).
    ref = ids.clone()
    return _backward_step(
        lambda: (peer(z1, ids, ref_emb=z2, ref_labels=ref) + peer(z2, ids, ref_emb=z1, ref_labels=ref)) / 2,
        (z1, z2))


def _pml_extra(loss: str, batch: int, dim: int) -> float:
    # Pair-based: an (anchors x negative pairs) mask and product, ~16 bytes x R^2 C (O(B^3)); the
    # CLIP form keeps both directions' graphs. Measured: ~2.2 GB at B = 256 for NT-Xent.
    rows = 2 * batch if loss == "ntxent" else batch
    return 16.0 * rows**3 * (1 if loss == "ntxent" else 2)


# ------------------------------------------------------------------------------------ sentence-transformers
class _NoModel(torch.nn.Module):
    """Placeholder model for the ST losses, which are called on embeddings directly."""

    def __getitem__(self, index: int) -> torch.nn.Module:
        return torch.nn.Identity()


def _st_directions(loss: str) -> dict:
    # CLIP: query->doc and doc->query softmaxes averaged. NT-Xent: query->(docs + other queries)
    # in one softmax is the two-view loss of the first view's anchors; the second view's anchors
    # are the same call with the roles swapped, and the loss is the mean of the two calls.
    if loss == "clip":
        return {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"}
    return {"directions": ("query_to_doc", "query_to_query"), "partition_mode": "joint"}


def make_st_mnrl(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """sentence-transformers ``MultipleNegativesRankingLoss`` on embeddings
    (``compute_loss_from_embeddings``, scale ``1 / tau``, cosine)."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    peer = MultipleNegativesRankingLoss(_NoModel(), scale=1 / tau, **_st_directions(loss))
    if loss == "clip":
        return _backward_step(lambda: peer.compute_loss_from_embeddings([z1, z2], None), (z1, z2))
    return _backward_step(lambda: (peer.compute_loss_from_embeddings([z1, z2], None)
                                   + peer.compute_loss_from_embeddings([z2, z1], None)) / 2, (z1, z2))


def make_st_cached(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """sentence-transformers ``CachedMultipleNegativesRankingLoss``: its loss stage on cached
    embeddings (``calculate_loss(..., with_backward=True)``), chunked over ``tile_size`` rows.
    The embedding re-forward of GradCache is model work and not part of a loss benchmark."""
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

    peer = CachedMultipleNegativesRankingLoss(_NoModel(), scale=1 / tau, mini_batch_size=tile_size,
                                              **_st_directions(loss))
    calls = [(z1, z2)] if loss == "clip" else [(z1, z2), (z2, z1)]

    def step() -> float:
        z1.grad = z2.grad = None
        total = 0.0
        for q, d in calls:
            # calculate_loss backpropagates each chunk itself (the loss gradient is 1 per call);
            # each call counts 1/len(calls) of the loss, so its gradient is rescaled after.
            q_leaf, d_leaf = q.detach().requires_grad_(), d.detach().requires_grad_()
            total += float(peer.calculate_loss([[q_leaf], [d_leaf]], with_backward=True))
            for src, leaf in ((q, q_leaf), (d, d_leaf)):
                grad = leaf.grad / len(calls)
                src.grad = grad if src.grad is None else src.grad + grad
        return total / len(calls)

    return step


# ------------------------------------------------------------------------------------ peers venv
def make_lightly(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """lightly ``NTXentLoss`` (no memory bank)."""
    try:
        from lightly.loss import NTXentLoss
    except ImportError as exc:  # only in .venv-peers
        raise Unsupported(f"lightly not importable: {exc}") from exc
    peer = NTXentLoss(temperature=tau)
    return _backward_step(lambda: peer(z1, z2), (z1, z2))


def make_open_clip(loss: str, z1: Tensor, z2: Tensor, tau: float, tile_size: int) -> Step:
    """open_clip ``ClipLoss`` (single process) on L2-normalised features, logit scale ``1 / tau``."""
    try:
        from open_clip.loss import ClipLoss
    except ImportError as exc:  # only in .venv-peers
        raise Unsupported(f"open_clip not importable: {exc}") from exc
    peer = ClipLoss()
    return _backward_step(
        lambda: peer(F.normalize(z1, dim=1), F.normalize(z2, dim=1), logit_scale=1 / tau), (z1, z2))


IMPLS: dict[str, Impl] = {
    impl.name: impl
    for impl in [
        Impl("floor", "3-GEMM floor", "main", LOSSES, make_floor, 0.0),
        Impl("floor_sym", "symmetric 2-GEMM floor", "main", TWO_VIEW, make_floor_symmetric, 0.0),
        Impl("floor_recompute", "CLIP recompute bound", "main", ("clip",), make_floor_recompute, 0.0),
        Impl("naive", "naive dense", "main", ("ntxent", "clip"), make_naive, 24.0),
        Impl("contrastkit_dense", "contrastkit dense", "main", LOSSES, make_contrastkit_dense, 24.0),
        Impl("contrastkit_tiled", "contrastkit tiled", "main", LOSSES, make_contrastkit_tiled, 0.0),
        Impl("contrastkit_auto", "contrastkit auto", "main", LOSSES, make_contrastkit_auto, 24.0),
        Impl("contrastkit_recompute", "contrastkit tiled, no tile cache", "main", LOSSES,
             make_contrastkit_recompute, 0.0),
        Impl("pml", "pytorch-metric-learning", "main", ("ntxent", "clip"), make_pml, 24.0, _pml_extra),
        Impl("st_mnrl", "sentence-transformers MNRL", "main", ("ntxent", "clip"), make_st_mnrl, 32.0),
        Impl("st_cached_mnrl", "sentence-transformers CachedMNRL", "main", ("ntxent", "clip"), make_st_cached, 0.0),
        Impl("lightly", "lightly", "peers", ("ntxent",), make_lightly, 32.0),
        Impl("open_clip", "open_clip", "peers", ("clip",), make_open_clip, 24.0),
    ]
}


def tile_memory_bytes(impl: Impl, loss: str, batch: int, tile_size: int) -> float:
    """Chunked implementations keep ``tile x (2B or B)`` buffers (ST cached) or ``tile^2`` (tiled)."""
    cols = 2 * batch if loss in TWO_VIEW else batch
    if impl.name == "st_cached_mnrl":
        return 32.0 * min(tile_size, cols) * 2 * cols
    if impl.name == "contrastkit_tiled":
        return 64.0 * tile_size * tile_size + 256 * 2**20  # + the default tile cache budget
    if impl.name in ("contrastkit_recompute", "floor_recompute"):
        return 64.0 * tile_size * tile_size
    if impl.name == "floor":
        return 2 * (64 << 20)
    return 0.0
