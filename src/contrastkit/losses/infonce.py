"""The InfoNCE family: NT-Xent, SupCon, CLIP / two-tower, DCL, DCLW, hard-negative InfoNCE."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_choice,
    check_finite_result,
    check_positive_float,
    check_same_device,
    compute_dtype,
)
from contrastkit.functional import distributed as ckdist
from contrastkit.functional.forms import info_nce_pair_rows, info_nce_paired_symmetric_rows, info_nce_rows
from contrastkit.functional.positives import SoftWeights, positive_pairs
from contrastkit.functional.problem import MODES, Direction, Problem, build_problem
from contrastkit.functional.similarity import Cosine, Dot, NegSqEuclidean, Similarity, get_similarity
from contrastkit.functional.tiled import check_tile_size, tiled_direction_rows, tiled_symmetric_rows
from contrastkit.losses.base import NO_POSITIVE_POLICIES, ContrastiveLoss, per_sample_mean

_SYMMETRIC_SIMILARITIES = (Cosine, Dot, NegSqEuclidean)  # s(x, y) = s(y, x)


class InfoNCE(ContrastiveLoss):
    """InfoNCE / NT-Xent / SupCon / CLIP loss with sparse positives.

    For anchor ``i`` with logits ``l_ij = s(z_i, z_j) / tau`` over its candidates ``j`` (its own
    row excluded) and positive set ``P(i)`` (or soft weights ``p_ij``)::

        L_i = -(1/|P(i)|) sum_{p in P(i)} l_ip + log sum_{j != i} exp(l_ij)

    One positive per anchor gives NT-Xent (Chen et al., 2020, "A Simple Framework for Contrastive
    Learning of Visual Representations"; van den Oord et al., 2018, "Representation Learning with
    Contrastive Predictive Coding"); ``labels=`` gives SupCon's ``L_out`` (Khosla et al., 2020,
    "Supervised Contrastive Learning"); ``mode="symmetric"`` gives CLIP's loss (Radford et al., 2021).

    Modes (see :func:`contrastkit.functional.problem.build_problem`): ``two_view`` (default:
    ``loss(z1, z2)`` uses 2N anchors and 2N-2 negatives each), ``a_to_b`` (one direction, e.g.
    multiple-negatives ranking with ``negatives=`` hard negatives) and ``symmetric`` (CLIP).

    Args:
        temperature: ``tau > 0``.
        mode: ``two_view`` | ``a_to_b`` | ``symmetric``.
        similarity: ``cosine`` (default), ``dot``, ``neg_sq_euclidean`` or a ``Similarity``.
        reduction: ``mean`` | ``sum`` | ``none`` over input rows (``none`` returns ``(N,)``, each
            row's anchors averaged over its views / directions).
        no_positive: ``error`` (default) raises when an anchor has no positive; ``ignore`` leaves
            such anchors out of the loss.
        tile_size: ``None`` (dense, default) or a tile edge: the loss then runs tiled with memory
            ``O(B·d + tile²)`` and the same values and gradients
            (:mod:`contrastkit.functional.tiled`; cosine and dot similarities).
        gather_distributed: when ``torch.distributed`` runs with several ranks, score this rank's
            anchors against every rank's candidates (autograd all-gather) and scale the loss so
            that DDP's gradient average equals the single-process gradient on the concatenated
            batch (:mod:`contrastkit.functional.distributed`). The mean over ranks of the returned
            values is the single-process loss. Without a process group it changes nothing.
    """

    citation: ClassVar[str] = (
        "van den Oord et al. 2018, arXiv:1807.03748; Chen et al. 2020, ICML (SimCLR); "
        "Khosla et al. 2020, NeurIPS (SupCon); Radford et al. 2021, ICML (CLIP)"
    )
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "mode", "similarity", "no_positive",
                                               "tile_size", "gather_distributed")
    positives_in_denominator: ClassVar[bool] = True

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        mode: str = "two_view",
        similarity: str | Similarity = "cosine",
        reduction: str = "mean",
        no_positive: str = "error",
        tile_size: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.mode = check_choice(mode, "mode", MODES)
        self._similarity = get_similarity(similarity)
        self.similarity = self._similarity.name
        self.no_positive = check_choice(no_positive, "no_positive", NO_POSITIVE_POLICIES)
        self.tile_size = check_tile_size(tile_size)
        if not isinstance(gather_distributed, bool):
            raise TypeError(f"gather_distributed: expected a bool, got {type(gather_distributed).__name__}")
        self.gather_distributed = gather_distributed

    def forward(
        self,
        a: Tensor,
        b: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        weights: SoftWeights | None = None,
        negatives: Tensor | None = None,
        temperature: Tensor | float | None = None,
    ) -> Tensor:
        """Loss of embeddings ``a`` (and ``b``); ``temperature`` overrides the stored one
        (e.g. a learnable CLIP logit scale passed as a tensor)."""
        check_same_device({"a": a, "b": b, "labels": labels, "negatives": negatives, "weights": weights,
                           "temperature": temperature}, cpu_ok=("labels", "temperature"))
        distributed = self.gather_distributed and ckdist.is_distributed()
        if distributed:
            if weights is not None:
                raise ValueError("weights: soft weights are not supported with gather_distributed=True")
            batch = ckdist.gather_batch(a, b, labels, negatives)
            a, b, labels, negatives = batch.a, batch.b, batch.labels, batch.negatives
        problem = build_problem(a, b, mode=self.mode, labels=labels, weights=weights,
                                negatives=negatives, check_finite=False)
        if distributed:
            problem = ckdist.localize(problem, batch.start, batch.stop)
        tau = self._resolve_temperature(temperature)
        losses, counted, samples = [], [], []
        for direction, (loss, has_positive) in zip(
            problem.directions, self.problem_rows(problem, tau, fused=not distributed), strict=True
        ):
            self._check_positives(has_positive, soft=direction.positives.soft is not None)
            losses.append(loss)
            counted.append(has_positive)
            samples.append(direction.sample)
        per_sample, sample_counted = per_sample_mean(losses, counted, samples, problem.num_samples)
        check_finite_result(per_sample, {"a": a, "b": b, "negatives": negatives})
        if distributed:
            return ckdist.distributed_reduce(per_sample, sample_counted, self.reduction)
        return self.reduce(per_sample, sample_counted)

    def problem_rows(
        self, problem: Problem, tau: Tensor | float, *, fused: bool = True
    ) -> list[tuple[Tensor, Tensor]]:
        """Per-anchor losses and has-positive flags of every direction: dense by default, tiled
        when ``tile_size`` is set (CLIP's two directions share one tiled pass when ``fused``)."""
        if self.tile_size is None:
            if (fused and self.mode == "symmetric" and len(problem.directions) == 2
                    and type(self._similarity) in _SYMMETRIC_SIMILARITIES):
                # CLIP's b->a logits are the transpose of a->b's first N columns (for a symmetric
                # s): one similarity GEMM and two backward GEMMs instead of two and four. The
                # contiguous copy keeps the row reductions off a strided (transposed) layout.
                forward, backward = problem.directions
                logits = self.logits(forward, tau)
                paired = self._paired_symmetric_rows(forward, backward, logits, tau)
                if paired is not None:
                    return paired
                back = logits[:, : backward.candidates.shape[0]].transpose(0, 1).contiguous()
                return [self.direction_rows(forward, tau, logits=logits),
                        self.direction_rows(backward, tau, logits=back)]
            return [self.direction_rows(d, tau) for d in problem.directions]
        self._check_tileable()
        options = dict(similarity=self._similarity, tile_size=self.tile_size,
                       positives_in_denominator=self.positives_in_denominator,
                       positive_scale=self.positive_scale_from_mean)
        if fused and self.mode == "symmetric" and len(problem.directions) == 2:
            return tiled_symmetric_rows(*problem.directions, tau, **options)  # type: ignore[arg-type]
        return [tiled_direction_rows(d, tau, **options) for d in problem.directions]  # type: ignore[arg-type]

    # ------------------------------------------------------------------ pieces
    def logits(self, direction: Direction, tau: Tensor | float) -> Tensor:
        """``(A, C)`` logits ``s_ij / tau`` in the compute dtype (float32 for half inputs)."""
        dtype = compute_dtype(direction.anchors, direction.candidates)
        sim = self._similarity
        # Upcast before the product: half-precision scores would be rounded before the division.
        anchors = sim.prepare(direction.anchors).to(dtype)
        candidates = anchors if direction.shared else sim.prepare(direction.candidates).to(dtype)
        return sim.pairwise(anchors, candidates) / tau

    def direction_rows(
        self, direction: Direction, tau: Tensor | float, *, logits: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Per-anchor losses and has-positive flags of one direction (``logits``: precomputed
        ``self.logits(direction, tau)``)."""
        if logits is None:
            logits = self.logits(direction, tau)
        pairs = self._sparse_positive_pairs(direction, logits)
        if pairs is not None:
            rows, cols = pairs
            scale = None
            if type(self).positive_scale_from_mean is not InfoNCE.positive_scale_from_mean:
                with torch.no_grad():
                    counts = torch.bincount(rows, minlength=logits.shape[0]).clamp_min(1).to(logits.dtype)
                    pos_mean = torch.zeros_like(counts).index_add_(0, rows, logits[rows, cols]) / counts
                scale = self.positive_scale_from_mean(pos_mean, tau)
            return info_nce_pair_rows(logits, rows, cols, direction.positives.anchor_self,
                                      positives_in_denominator=self.positives_in_denominator,
                                      positive_scale=scale)
        weight, valid = direction.positives.dense(logits.dtype)
        return info_nce_rows(
            logits,
            weight,
            valid,
            positives_in_denominator=self.positives_in_denominator,
            denominator_mask=self.denominator_mask(logits, weight, valid),
            positive_scale=self.positive_scale(logits, weight, tau),
        )

    def _paired_symmetric_rows(
        self, forward: Direction, backward: Direction, logits: Tensor, tau: Tensor | float
    ) -> list[tuple[Tensor, Tensor]] | None:
        """CLIP with index-paired positives: both directions from ``logits`` without a transposed
        copy (:func:`info_nce_paired_symmetric_rows`); ``None`` when the case does not apply."""
        n = logits.shape[0]
        index = torch.arange(n, device=logits.device)
        for direction in (forward, backward):
            pairs = direction.positives.pairs
            if (pairs is None or direction.positives.soft is not None or direction.positives.anchor_self is not None
                    or not (torch.equal(pairs[0], index) and torch.equal(pairs[1], index))):
                return None
        if self._sparse_positive_pairs(forward, logits) is None:  # an overridden dense-only hook
            return None
        scales: list[Tensor | None] = [None, None]
        if type(self).positive_scale_from_mean is not InfoNCE.positive_scale_from_mean:
            diag = logits.detach().diagonal()[:n]
            scales = [self.positive_scale_from_mean(diag, tau), self.positive_scale_from_mean(diag, tau)]
        row_loss, col_loss = info_nce_paired_symmetric_rows(
            logits, positives_in_denominator=self.positives_in_denominator,
            row_scale=scales[0], col_scale=scales[1])
        every = torch.ones(n, dtype=torch.bool, device=logits.device)
        return [(row_loss, every), (col_loss, every)]

    def _sparse_positive_pairs(self, direction: Direction, logits: Tensor) -> tuple[Tensor, Tensor] | None:
        """Hard positives as sparse pairs when the fast dense path applies (no soft weights, no
        dense-only hook overridden, and at most a quarter of the matrix positive); else ``None``."""
        cls = type(self)
        if (direction.positives.soft is not None
                or cls.denominator_mask is not InfoNCE.denominator_mask
                or (cls.positive_scale is not InfoNCE.positive_scale
                    and cls.positive_scale_from_mean is InfoNCE.positive_scale_from_mean)):
            return None
        return positive_pairs(direction.positives, limit=logits.numel() // 4)

    def _check_tileable(self) -> None:
        # A subclass that changes the dense pieces without a tiled counterpart would be silently
        # ignored by the tiled path: refuse instead.
        cls = type(self)
        for hook in ("logits", "direction_rows", "denominator_mask"):
            if getattr(cls, hook) is not getattr(InfoNCE, hook):
                raise ValueError(f"tile_size: {cls.__name__} overrides {hook}() and has no tiled "
                                 "execution; use tile_size=None")
        if (cls.positive_scale is not InfoNCE.positive_scale
                and cls.positive_scale_from_mean is InfoNCE.positive_scale_from_mean):
            raise ValueError(f"tile_size: {cls.__name__} overrides positive_scale() without "
                             "positive_scale_from_mean(); use tile_size=None")

    def denominator_mask(self, logits: Tensor, weight: Tensor, valid: Tensor) -> Tensor | None:
        """Extra restriction of the denominator set (hook for hard-negative variants)."""
        return None

    def positive_scale(self, logits: Tensor, weight: Tensor, tau: Tensor | float) -> Tensor | None:
        """Per-anchor factor on the positive term (hook for DCLW)."""
        return None

    def positive_scale_from_mean(self, pos_mean: Tensor, tau: Tensor | float) -> Tensor | None:
        """The same factor from each anchor's mean positive logit (the tiled path's hook)."""
        return None

    def _resolve_temperature(self, temperature: Tensor | float | None) -> Tensor | float:
        if temperature is None:
            return self.temperature
        if isinstance(temperature, Tensor):
            if temperature.numel() != 1 or not torch.isfinite(temperature).all() or temperature <= 0:
                raise ValueError(f"temperature: expected a finite scalar > 0, got {temperature}")
            return temperature
        return check_positive_float(temperature, "temperature")

    def _check_positives(self, has_positive: Tensor, *, soft: bool = False) -> None:
        if self.no_positive == "error" and not bool(has_positive.all()):
            first = int((~has_positive).nonzero()[0])
            if soft:  # the positives came from the soft weights, not from labels
                raise ValueError(
                    f"weights: row {first} of the soft weights sums to 0, so anchor {first} has no positive "
                    f"({int((~has_positive).sum())} such anchors); pass no_positive='ignore' to leave them out")
            raise ValueError(
                f"labels: anchor {first} has no positive among the candidates "
                f"({int((~has_positive).sum())} such anchors); pass no_positive='ignore' to leave "
                "them out"
            )


class DCL(InfoNCE):
    """Decoupled contrastive loss (Yeh et al., ECCV 2022, "Decoupled Contrastive Learning", Eq. 6).

    ``L_i = -l_ip + log sum_{j not in P(i) and j != i} exp(l_ij)``: the positive is removed from
    the denominator, which removes the negative-positive coupling factor ``1 - p_pos`` from the
    gradient. Paper default ``tau = 0.1``.
    """

    citation: ClassVar[str] = "Yeh et al. 2022, ECCV, Decoupled Contrastive Learning"
    positives_in_denominator: ClassVar[bool] = False


class DCLW(DCL):
    """DCL with the von Mises-Fisher positive weight (Yeh et al., ECCV 2022, DCLW).

    ``w_i = 2 - exp(s_ip / sigma) / E_k[exp(s_kp / sigma)] = 2 - A softmax_i(s_ip / sigma)`` over
    the ``A`` anchors, ``s_ip`` the anchor's (mean) positive similarity. The weight carries no
    gradient, as in lightly's ``DCLWLoss``. Defaults ``tau = 0.1``, ``sigma = 0.5``.
    """

    _config_keys: ClassVar[tuple[str, ...]] = InfoNCE._config_keys + ("sigma",)

    def __init__(self, temperature: float = 0.1, *, sigma: float = 0.5, **kwargs: object) -> None:
        super().__init__(temperature, **kwargs)  # type: ignore[arg-type]
        self.sigma = check_positive_float(sigma, "sigma")

    def positive_scale(self, logits: Tensor, weight: Tensor, tau: Tensor | float) -> Tensor:
        with torch.no_grad():
            pos_sim = (weight * logits).sum(1) * tau / weight.sum(1).clamp_min(1e-12)
            return self._vmf_weight(pos_sim)

    def positive_scale_from_mean(self, pos_mean: Tensor, tau: Tensor | float) -> Tensor:
        with torch.no_grad():
            return self._vmf_weight(pos_mean * tau)

    def _vmf_weight(self, pos_sim: Tensor) -> Tensor:
        # The softmax runs over all anchors of the direction, on every rank when distributed.
        z = pos_sim / self.sigma
        if self.gather_distributed and ckdist.is_distributed():
            log_norm, count = ckdist.global_log_normalizer(z)
            return 2 - count * torch.exp(z - log_norm)
        return 2 - z.shape[0] * torch.softmax(z, dim=0)


class HardNegativeInfoNCE(InfoNCE):
    """InfoNCE with explicit hard-negative selection (Wang & Liu, CVPR 2021, "Understanding the
    Behaviour of Contrastive Loss", L_hard).

    ``L_i = -l_ip + log( exp(l_ip) + sum_{k in H(i)} exp(l_ik) )``, ``H(i)`` the ``top_k`` most
    similar negatives of anchor ``i`` (or the top ``fraction`` of them). With every negative
    kept it equals :class:`InfoNCE`.
    """

    citation: ClassVar[str] = "Wang & Liu 2021, CVPR, Understanding the Behaviour of Contrastive Loss"
    _config_keys: ClassVar[tuple[str, ...]] = InfoNCE._config_keys + ("top_k", "fraction")

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        top_k: int | None = None,
        fraction: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(temperature, **kwargs)  # type: ignore[arg-type]
        if (top_k is None) == (fraction is None):
            raise ValueError("top_k, fraction: give exactly one of them")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k: expected an integer >= 1, got {top_k!r}")
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError(f"fraction: expected a number in (0, 1], got {fraction!r}")
        if self.tile_size is not None:
            raise ValueError("tile_size: HardNegativeInfoNCE selects the top-k negatives of whole rows "
                             "and has no tiled execution; use tile_size=None")
        self.top_k = top_k
        self.fraction = fraction

    def denominator_mask(self, logits: Tensor, weight: Tensor, valid: Tensor) -> Tensor:
        from contrastkit.mining.hard_negatives import hardest_negatives_mask

        negative = valid & (weight <= 0)
        return (weight > 0) | hardest_negatives_mask(logits, negative, top_k=self.top_k,
                                                     fraction=self.fraction)
