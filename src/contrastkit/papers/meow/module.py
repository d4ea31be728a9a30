"""MEOW and AdaMEOW (Yu, Ge, Li, Zhou; SDM 2023 "Heterogeneous Graph Contrastive Learning with Meta-path
Contexts and Weighted Negative Samples"; TKDE 2024 extension with AdaMEOW). Official code:
github.com/jianxiangyu/MEOW, ``code_meow/module/{meow,contrast,cluster}.py``, ``code_adameow/module/adameow.py``.

Architecture (:class:`MEOWEncoder`): per node type ``h = ELU(FC_type(x))``; **coarse view**
``z_c = GCN(h_target, union of the meta-path graphs)``; **meta-path contexts** ``c_m = ELU(h_target + W_m
mean_{intermediate neighbours}(h))`` and their masked copies ``c~_m`` (target features masked entry-wise,
meta-path edges dropped, both drawn once per run as in the official code); ``z_m = GCN(c_m, A_m)``,
``z~_m = GCN(c~_m, A~_m)``; the ``2M`` L2-normalised embeddings fused by semantic attention into ``z_f``;
projection ``p(z) = normalize(tanh(W z + b))``. The frozen ``z_f`` is the node embedding evaluated.

Objectives (all through :class:`contrastkit.losses.InfoNCE`, ``mode="a_to_b"``, dot products of unit vectors):

* ``infonce`` (unweighted baseline, HeCo-like): ``-(1/N) sum_i log(exp(s_ii/tau) / sum_j exp(s_ij/tau))``,
  ``s_ij = p(z_c)_i . p(z_f)_j``;
* ``meow``: weights ``w = cluster_negative_weights(K-means of p(z_f) for every K in Kset)`` recomputed each
  epoch, ``L_wNCE = -(1/N) sum_i log(exp(s_ii/tau) / sum_j w_ij exp(s_ij/tau))`` (``w_ii = 0``: the
  positive leaves the denominator) ``+ lambda * L_proto`` (:func:`proto_nce` on ``p(z_c)``);
* ``adameow``: anchor ``p(z_f)``, candidates ``p(z_c)``, ``w_ij = MLP(p(z_f)_i + p(z_c)_j)`` (:class:`PairWeightNet`)
  trained jointly, positive in the denominator with weight ``w_ii``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.graph.augment import drop_edges, mask_features
from contrastkit.graph.encoders import GCN, SemanticAttention
from contrastkit.losses import InfoNCE
from contrastkit.mining.clusters import cluster_negative_weights

OBJECTIVES = ("infonce", "meow", "adameow")


class PairWeightNet(nn.Module):
    """AdaMEOW's weight network ``w_ij = sigmoid(v^T tanh(W (a_i + b_j) + c) + e)`` (Linear(d,16)-tanh-
    Linear(16,1)-sigmoid on the pair sum; official ``AdaMEOW.MLP``).

    The first layer is linear, so ``W(a_i + b_j) = W a_i + W b_j`` is computed per row and broadcast, never
    materialising the ``(N*N, d)`` pair sums of the official code. Call: ``net(a (N, d), b (M, d)) -> (N, M)``.
    """

    def __init__(self, dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(dim, hidden), nn.Linear(hidden, 1)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        hidden = torch.tanh((a @ self.first.weight.T).unsqueeze(1) + (b @ self.first.weight.T).unsqueeze(0)
                            + self.first.bias)
        return torch.sigmoid(self.second(hidden).squeeze(-1))


def weighted_infonce(anchor: Tensor, candidates: Tensor, weights: Tensor, temperature: float) -> Tensor:
    """``-(1/N) sum_i [s_ii/tau - log sum_j w_ij exp(s_ij/tau)]`` with ``s = anchor @ candidates.T``, through
    the core InfoNCE (``a_to_b``, dot similarity, ``denominator_weights=w``).

    The core treats ``w`` as constants; when ``weights`` requires grad (AdaMEOW) a zero-valued term
    ``lse(l.detach() + log w) - lse(l.detach() + log w.detach())`` carries the exact gradient
    ``d/dw_ij = softmax_ij / w_ij`` to the weight network, so value and every gradient equal the
    official formula.
    """
    loss = InfoNCE(temperature, mode="a_to_b", similarity="dot", tile_size=None)(
        anchor, candidates, denominator_weights=weights.detach())
    if weights.requires_grad:
        logits = (anchor @ candidates.T / temperature).detach()
        log_w = weights.clamp_min(torch.finfo(weights.dtype).tiny).log()
        loss = loss + (torch.logsumexp(logits + log_w, 1) - torch.logsumexp(logits + log_w.detach(), 1)).mean()
    return loss


def run_kmeans(z: Tensor, ks: list[int], temperature: float, seed: int = 0) -> list[dict[str, Tensor]]:
    """K-means of the rows of ``z`` for every ``k`` in ``ks`` (faiss, 20 iterations, 5 restarts, seed
    ``seed + index``, as ``code_meow/module/cluster.py``): assignments, unit-norm centroids and PCL
    concentrations ``phi_c = mean ||z - mu_c|| / log(n_c + 5)`` (singletons: the maximum), clipped to the
    10-90th percentile and rescaled to mean ``temperature``.

    Deviation: distances are Euclidean (the official code takes the square root of inner products).
    """
    import faiss
    import numpy as np

    x = np.ascontiguousarray(z.detach().cpu().numpy(), dtype="float32")
    out = []
    for i, k in enumerate(ks):
        km = faiss.Kmeans(x.shape[1], int(k), niter=20, nredo=5, seed=seed + i, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=4000)
        km.train(x)
        dist, assign = km.index.search(x, 1)
        assign, dist = assign[:, 0], np.sqrt(np.maximum(dist[:, 0], 0))
        density = np.zeros(k)
        for c in range(k):
            members = dist[assign == c]
            if len(members) > 1:
                density[c] = members.mean() / math.log(len(members) + 5)
        density[density == 0] = density.max() if density.max() > 0 else 1.0
        density = np.clip(density, np.percentile(density, 10), np.percentile(density, 90))
        density = temperature * density / density.mean()
        out.append({"assign": torch.as_tensor(assign, dtype=torch.long),
                    "centroids": F.normalize(torch.as_tensor(km.centroids), dim=1).to(z.dtype),
                    "density": torch.as_tensor(density, dtype=z.dtype)})
    return out


def proto_nce(z: Tensor, clusterings: list[dict[str, Tensor]]) -> Tensor:
    """PCL's ProtoNCE (Li et al., ICLR 2021) as MEOW uses it: per clustering
    ``-(1/N) sum_i log(exp(z_i.mu_{c(i)}/phi_{c(i)}) / (N mean_c exp(z_i.mu_c/phi_c)))``, averaged over the
    clusterings (the factor ``N`` of the official code is a constant shift, kept)."""
    total = z.new_zeros(())
    n = z.shape[0]
    for c in clusterings:
        logits = z @ c["centroids"].T / c["density"]
        pos = logits.gather(1, c["assign"].unsqueeze(1)).squeeze(1)
        total = total + (torch.logsumexp(logits, 1) - math.log(logits.shape[1]) + math.log(n) - pos).mean()
    return total / len(clusterings)


def _mean_over(edge_index: Tensor, h_src: Tensor, n_dst: int) -> Tensor:
    """Mean of ``h_src`` over each destination's neighbours (0 for none); ``edge_index`` is (dst, src)."""
    from torch_geometric.utils import scatter

    return scatter(h_src[edge_index[1]], edge_index[0], dim=0, dim_size=n_dst, reduce="mean")


class MEOWEncoder(nn.Module):
    """MEOW's two views over a ``HeteroData`` with target type ``target`` and meta-paths ``meta_paths``
    (name -> intermediate node type); see the module docstring. Call ``enc(data) -> dict`` with ``z_c``,
    ``z_f`` (pre-projection) and their projections ``p_c``, ``p_f``."""

    def __init__(self, data: Any, target: str, meta_paths: dict[str, str], *, hidden_dim: int = 64,
                 dropout: float = 0.2, feature_mask: float = 0.3, edge_drop: dict[str, float] | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        self.target, self.meta_paths = target, dict(meta_paths)
        types = [target] + sorted(set(self.meta_paths.values()))
        self.fc = nn.ModuleDict({t: nn.Linear(data[t].x.shape[1], hidden_dim) for t in types})
        self.agg = nn.ModuleDict({m: nn.Linear(hidden_dim, hidden_dim, bias=False) for m in self.meta_paths})
        self.gcn = GCN(hidden_dim, hidden_dim, hidden_dim, dropout)
        self.att = SemanticAttention(hidden_dim, dropout)
        self.project = nn.Linear(hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        gen = torch.Generator().manual_seed(seed)
        x = data[target].x
        n = x.shape[0]
        self.register_buffer("masked_x", mask_features(x, feature_mask, per="entry", generator=gen))
        self.edges = {m: data[target, m, target].edge_index for m in self.meta_paths}
        drops = edge_drop or {}
        self.dropped = {m: drop_edges(e, drops.get(m, 0.0), num_nodes=n, generator=gen) for m, e in self.edges.items()}
        self.union = torch.cat(list(self.edges.values()), 1).unique(dim=1)
        self.links = {m: data[target, _edge_name(data, target, t), t].edge_index for m, t in self.meta_paths.items()}

    def _h(self, x: Tensor, t: str) -> Tensor:
        return F.elu(self.dropout(self.fc[t](x)))

    def forward(self, data: Any) -> dict[str, Tensor]:
        h = self._h(data[self.target].x, self.target)
        h_masked = self._h(self.masked_x, self.target)
        n = h.shape[0]
        views = []
        for m, t in self.meta_paths.items():
            context = self.dropout(self.agg[m](_mean_over(self.links[m], self._h(data[t].x, t), n)))
            views.append(self.gcn(F.elu(h + context), self.edges[m]))
            views.append(self.gcn(F.elu(h_masked + context), self.dropped[m]))
        z_f, beta = self.att([F.normalize(v, dim=1) for v in views])
        z_c = self.gcn(h, self.union)
        return {"z_c": z_c, "z_f": z_f, "beta": beta, "p_c": self.proj(z_c), "p_f": self.proj(z_f)}

    def proj(self, z: Tensor) -> Tensor:
        return F.normalize(torch.tanh(self.project(z)), dim=1)


def _edge_name(data: Any, src: str, dst: str) -> str:
    names = [rel for (s, rel, d) in data.edge_types if s == src and d == dst]
    if len(names) != 1:
        raise ValueError(f"meta_paths: expected one edge type {src} -> {dst}, found {names}")
    return names[0]


class MEOW(nn.Module):
    """Encoder + objective (``infonce`` | ``meow`` | ``adameow``); ``model.loss(data, epoch) -> (loss, logs)``."""

    def __init__(self, data: Any, target: str, meta_paths: dict[str, str], *, objective: str = "meow",
                 temperature: float = 0.4, clusters: tuple[int, ...] = (30, 90), proto_weight: float = 1.0,
                 seed: int = 0, **encoder: Any) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
        self.encoder = MEOWEncoder(data, target, meta_paths, seed=seed, **encoder)
        self.objective, self.temperature = objective, float(temperature)
        self.clusters, self.proto_weight, self.seed = list(clusters), float(proto_weight), seed
        self.weight_net = PairWeightNet(self.encoder.project.out_features) if objective == "adameow" else None
        self.last_weights: Tensor | None = None

    def loss(self, data: Any, epoch: int = 0) -> tuple[Tensor, dict[str, float]]:
        out = self.encoder(data)
        p_c, p_f = out["p_c"], out["p_f"]
        if self.objective == "infonce":
            return weighted_infonce(p_c, p_f, torch.ones(p_c.shape[0], p_f.shape[0]), self.temperature), {}
        if self.objective == "adameow":
            assert self.weight_net is not None
            w = self.weight_net(p_f, p_c)
            self.last_weights = w.detach()
            return weighted_infonce(p_f, p_c, w, self.temperature), {"mean_weight": float(w.detach().mean())}
        clusterings = run_kmeans(p_f, self.clusters, self.temperature, seed=self.seed + 1000 * epoch)
        w = cluster_negative_weights([c["assign"] for c in clusterings])
        self.last_weights = w
        l_w = weighted_infonce(p_c, p_f, w, self.temperature)
        l_p = proto_nce(p_c, clusterings)
        return l_w + self.proto_weight * l_p, {"wnce": float(l_w.detach()), "proto": float(l_p.detach())}

    @torch.no_grad()
    def embed(self, data: Any) -> Tensor:
        """The evaluated embedding: the fused fine view ``z_f`` (pre-projection), dropout off."""
        was = self.training
        self.eval()
        z = self.encoder(data)["z_f"]
        self.train(was)
        return z


def pair_weight_means(weights: Tensor, labels: Tensor) -> dict[str, float]:
    """Mean weight of same-label off-diagonal pairs (the false negatives) and of different-label pairs.

    ``weights`` ``(N, N)``, ``labels`` ``(N,)``; ``ValueError`` when the lengths differ."""
    if weights.dim() != 2 or weights.shape[0] != weights.shape[1] or labels.shape != (weights.shape[0],):
        raise ValueError(f"labels: expected {weights.shape[0]} labels for a square (N, N) weight matrix, got "
                         f"labels {tuple(labels.shape)} and weights {tuple(weights.shape)}")
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    off = ~torch.eye(len(labels), dtype=torch.bool)
    return {"same_class": float(weights[same & off].mean()), "other_class": float(weights[~same].mean())}


__all__ = ["MEOW", "MEOWEncoder", "OBJECTIVES", "PairWeightNet", "pair_weight_means", "proto_nce", "run_kmeans",
           "weighted_infonce"]
