"""The InfoNCE family: NT-Xent, SupCon, CLIP / two-tower, DCL, DCLW, hard-negative InfoNCE.

One class, :class:`InfoNCE`; its variants are constructor options, each declaring whether it runs
tiled and gathered (:data:`VARIANTS`). DCL, DCLW and HardNegativeInfoNCE are presets of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from contrastkit._validation import (
    check_bool,
    check_choice,
    check_embeddings,
    check_finite_result,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_tile_size,
    compute_dtype,
)
from contrastkit.functional import distributed as ckdist
from contrastkit.functional.forms import (
    info_nce_lse_rows,
    info_nce_pair_rows,
    info_nce_paired_symmetric_rows,
    info_nce_rows,
)
from contrastkit.functional.gram import symmetric_gram
from contrastkit.functional.positives import SoftWeights, positive_pairs
from contrastkit.functional.problem import (
    DUPLICATES,
    MODES,
    Direction,
    Problem,
    attach_group,
    build_problem,
    check_group,
)
from contrastkit.functional.similarity import Cosine, Dot, NegSqEuclidean, Similarity, get_similarity
from contrastkit.functional.tiled import (
    DEFAULT_TILE_CACHE_MB,
    SPARSE_PAIRS_PER_ROW,
    TileCache,
    auto_tile_size,
    finish_rows,
    hard_numerator,
    prepared_inputs,
    tiled_direction_rows,
    tiled_symmetric_rows,
)
from contrastkit.losses.base import NO_POSITIVE_POLICIES, ContrastiveLoss, per_sample_mean

_SYMMETRIC_SIMILARITIES = (Cosine, Dot, NegSqEuclidean)  # s(x, y) = s(y, x)


@dataclass(frozen=True)
class Variant:
    """A constructor option of :class:`InfoNCE`: what it changes and where it runs."""

    option: str
    changes: str
    tiles: bool
    distributes: bool


VARIANTS: dict[str, Variant] = {v.option: v for v in (
    Variant("decoupled", "positives leave the denominator (DCL, Yeh et al. 2022, Eq. 6)", True, True),
    Variant("vmf_sigma", "detached von Mises-Fisher weight on the positive term (DCLW)", True, True),
    Variant("hard_negatives", "denominator restricted to each row's hardest negatives (Wang & Liu 2021, "
            "L_hard); needs whole rows", False, True),
    Variant("duplicates", "same-label candidates other than the pair leave the denominator", True, True),
)}

# Dense pieces a subclass may override; a class that does is dense-only (declared once, at class
# creation, in ``_dense_only_hooks``), since the tiled kernels never call them.
_DENSE_HOOKS = ("logits", "direction_rows", "denominator_mask")
_BASE_KEYS = ("temperature", "mode", "similarity", "no_positive", "tile_size", "tile_cache_mb", "gather_distributed",
              "duplicates")


class InfoNCE(ContrastiveLoss):
    """InfoNCE / NT-Xent / SupCon / CLIP loss with sparse positives.

    For anchor ``i`` with logits ``l_ij = s(z_i, z_j) / tau`` over its candidates ``j`` (its own
    row excluded), positive set ``P(i)`` (or soft weights ``p_ij``) and denominator weights
    ``q_ij`` (1 unless given)::

        L_i = -(1/|P(i)|) sum_{p in P(i)} l_ip + log sum_{j in D(i)} q_ij exp(l_ij),   D(i) = {j != i}

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
        tile_size: ``"auto"`` (default), ``None`` (always dense) or a tile edge (always tiled).
            Tiled execution has memory ``O(B·d + tile²)`` and the same values and gradients
            (:mod:`contrastkit.functional.tiled`; cosine and dot similarities). ``"auto"`` runs a
            call tiled (tile :data:`~contrastkit.functional.tiled.AUTO_TILE_SIZE`) when its logit
            matrix is large enough for the tiled kernel to win
            (:func:`~contrastkit.functional.tiled.auto_tile_size`), dense otherwise, and always
            dense for a configuration without a tiled execution (hard negatives,
            ``neg_sq_euclidean``, a subclass overriding a dense hook).
        tile_cache_mb: tiled execution only: budget in MiB (default
            :data:`~contrastkit.functional.tiled.DEFAULT_TILE_CACHE_MB`) of exponentiated logit
            tiles kept from forward for backward, which then skips their similarity GEMM and
            ``exp``; tiles beyond the budget are recomputed. The budget also counts the kernel's
            two tile-sized scratch buffers. Adds at most this much memory between
            forward and backward (none under ``torch.no_grad()``); ``0`` recomputes every tile.
            The module keeps that storage (at most the budget, as much as its largest call used;
            with ``0`` only the scratch) between calls, so the same pages serve every step.
        gather_distributed: when ``torch.distributed`` runs with several ranks, score this rank's
            anchors against every rank's candidates (autograd all-gather) and scale the loss so
            that DDP's gradient average equals the single-process gradient on the concatenated
            batch (:mod:`contrastkit.functional.distributed`). The mean over ranks of the returned
            values is the single-process loss. Without a process group it changes nothing.
        duplicates: what ``labels=`` mean when ``b`` pairs each row with its positive (two views,
            two towers). ``positive`` (default): same-label rows are extra positives (SupCon;
            a perfect embedding with one duplicate scores ``log 2``). ``exclude``: labels mark
            duplicates (e.g. document ids); the positive stays the pair, and the other same-label
            candidates are false negatives removed from the denominator (``q = 0``).
        decoupled: DCL: positives leave the denominator (Yeh et al., ECCV 2022, Eq. 6).
        vmf_sigma: DCLW: weight the positive term by the detached von Mises-Fisher weight
            ``w_i = 2 - A softmax_i(s_ip / sigma)`` over the ``A`` anchors (every rank's when gathered).
        hard_top_k / hard_fraction: keep only the ``top_k`` (or the top ``fraction``) most similar
            negatives of each row in the denominator (Wang & Liu, CVPR 2021, ``L_hard``); dense only.

    Which options tile and distribute is declared in :data:`VARIANTS`; a loss configured with a
    variant that does not tile refuses an integer ``tile_size`` when it is built.

    Call: ``loss(a, b=None, *, labels=None, weights=None, denominator_weights=None, negatives=None,
    candidates=None, positive_index=None, temperature=None)``:

    - ``denominator_weights``: per-pair ``q_ij >= 0`` (constants, no gradient), a dense tensor over
      the direction's anchors x candidates (extra negatives, then per-anchor candidates, as
      columns; ``(N, N + M + K)`` over ``a`` x ``b`` rows for two towers, ``(N, N)`` sample pairs
      for two views) or a callable ``(rows: slice, cols: slice) -> tile``, as ``weights=``.
      Under ``gather_distributed`` it describes the global batch (rows and columns of all ranks in
      rank order) exactly as the single-process call on the concatenated batch would.
      Hard-negative weighting (MEOW, AdaMEOW), teacher/student mixed terms and false-negative
      masks are expressed this way.
    - ``candidates`` ``(N, K, d)``: each row of ``a`` also scores its own ``K`` candidates (scored
      against that anchor only). With ``b`` (``a_to_b`` / ``symmetric``) they are extra
      negatives of the a->b direction (CLAPS imposters, per-query hard negatives). With
      ``b=None`` the call is listwise: anchor ``i`` against its ``K`` candidates only, the
      positive at ``positive_index[i]`` (reranking).
    """

    citation: ClassVar[str] = (
        "van den Oord et al. 2018, arXiv:1807.03748; Chen et al. 2020, ICML (SimCLR); "
        "Khosla et al. 2020, NeurIPS (SupCon); Radford et al. 2021, ICML (CLIP)"
    )
    _config_keys: ClassVar[tuple[str, ...]] = _BASE_KEYS + ("decoupled", "vmf_sigma", "hard_top_k", "hard_fraction")
    _fixed: ClassVar[dict[str, Any]] = {}  # variant options a preset sets (refused as arguments)
    _dense_only_hooks: ClassVar[tuple[str, ...]] = ()
    _custom_positive_scale: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dense_only_hooks = tuple(h for h in _DENSE_HOOKS if getattr(cls, h) is not getattr(InfoNCE, h))
        cls._custom_positive_scale = cls.positive_scale_from_mean is not InfoNCE.positive_scale_from_mean

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        mode: str = "two_view",
        similarity: str | Similarity = "cosine",
        reduction: str = "mean",
        no_positive: str = "error",
        tile_size: int | str | None = "auto",
        tile_cache_mb: float = DEFAULT_TILE_CACHE_MB,
        gather_distributed: bool = False,
        duplicates: str = "positive",
        decoupled: bool = False,
        vmf_sigma: float | None = None,
        hard_top_k: int | None = None,
        hard_fraction: float | None = None,
    ) -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.mode = check_choice(mode, "mode", MODES)
        self._similarity = get_similarity(similarity)
        self.similarity = self._similarity.name
        self.no_positive = check_choice(no_positive, "no_positive", NO_POSITIVE_POLICIES)
        self.tile_size = check_tile_size(tile_size, auto=True)
        self.tile_cache_mb = check_non_negative_float(tile_cache_mb, "tile_cache_mb")
        # The cache's pages are reused from step to step (fresh pages cost their faults each call).
        self._tile_cache = TileCache()
        self.gather_distributed = check_bool(gather_distributed, "gather_distributed")
        check_bool(decoupled, "decoupled")
        self.duplicates = check_choice(duplicates, "duplicates", DUPLICATES)
        self.decoupled = decoupled
        self.vmf_sigma = None if vmf_sigma is None else check_positive_float(vmf_sigma, "vmf_sigma")
        if hard_top_k is not None and hard_fraction is not None:
            raise ValueError("hard_top_k, hard_fraction: give at most one of them")
        if hard_top_k is not None:
            check_positive_int(hard_top_k, "hard_top_k")
        if hard_fraction is not None and (isinstance(hard_fraction, bool) or not isinstance(hard_fraction, (int, float))
                                          or not 0 < hard_fraction <= 1):
            raise ValueError(f"hard_fraction: expected a number in (0, 1], got {hard_fraction!r}")
        self.hard_top_k, self.hard_fraction = hard_top_k, hard_fraction
        if isinstance(self.tile_size, int):
            for variant in self.variants():
                if not variant.tiles:
                    raise ValueError(f"tile_size: {type(self).__name__} uses {variant.option!r} ({variant.changes}), "
                                     "which has no tiled execution; use tile_size=None")

    # ------------------------------------------------------------------ declared variants
    def variants(self) -> tuple[Variant, ...]:
        """The variant options this loss uses (see :data:`VARIANTS`)."""
        active = {"decoupled": self.decoupled, "vmf_sigma": self.vmf_sigma is not None,
                  "hard_negatives": self.hard_top_k is not None or self.hard_fraction is not None,
                  "duplicates": self.duplicates == "exclude"}
        return tuple(VARIANTS[name] for name, on in active.items() if on)

    @property
    def tiles(self) -> bool:
        """Whether this configuration has a tiled execution."""
        return all(v.tiles for v in self.variants()) and not self._dense_only_hooks

    @property
    def distributes(self) -> bool:
        """Whether this configuration runs with ``gather_distributed`` (every variant does)."""
        return all(v.distributes for v in self.variants())

    @property
    def positives_in_denominator(self) -> bool:
        return not self.decoupled

    @property
    def _masks_denominator(self) -> bool:
        return (self.hard_top_k is not None or self.hard_fraction is not None
                or "denominator_mask" in self._dense_only_hooks)

    @property
    def _scales_positive(self) -> bool:
        return self.vmf_sigma is not None or self._custom_positive_scale

    # ------------------------------------------------------------------ call
    def forward(
        self,
        a: Tensor,
        b: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        weights: SoftWeights | None = None,
        denominator_weights: SoftWeights | None = None,
        negatives: Tensor | None = None,
        candidates: Tensor | None = None,
        positive_index: Tensor | None = None,
        temperature: Tensor | float | None = None,
    ) -> Tensor:
        """Loss of embeddings ``a`` (and ``b``); see the class docstring for the arguments.
        ``temperature`` overrides the stored one (e.g. a learnable CLIP logit scale as a tensor)."""
        check_same_device({"a": a, "b": b, "labels": labels, "negatives": negatives, "weights": weights,
                           "denominator_weights": denominator_weights, "candidates": candidates,
                           "positive_index": positive_index, "temperature": temperature},
                          cpu_ok=("labels", "positive_index", "temperature"))
        group = None
        if candidates is not None:
            check_embeddings(a, "a", finite=False)
            group = check_group(a, candidates, positive_index, listwise=b is None)
        elif positive_index is not None:
            raise ValueError("positive_index: only meaningful with candidates= (per-anchor candidate groups)")
        group_size = 0 if group is None else group[0].shape[1]
        distributed = self.gather_distributed and ckdist.is_distributed()
        local_a = a
        if distributed:
            if weights is not None:
                raise ValueError("weights: soft weights are not supported with gather_distributed=True")
            batch = ckdist.gather_batch(a, b, labels, negatives)
            a, b, labels, negatives = batch.a, batch.b, batch.labels, batch.negatives
        problem = build_problem(a, b, mode=self.mode, labels=labels, weights=weights, negatives=negatives,
                                denominator_weights=denominator_weights, duplicates=self.duplicates,
                                group_size=group_size, check_finite=False)
        if distributed:
            problem = ckdist.localize(problem, batch.start, batch.stop)
        if group is not None:
            problem = attach_group(problem, *group)
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
        check_finite_result(per_sample, {"a": local_a, "b": b, "negatives": negatives, "candidates": candidates})
        if distributed:
            return ckdist.distributed_reduce(per_sample, sample_counted, self.reduction)
        return self.reduce(per_sample, sample_counted)

    def problem_rows(
        self, problem: Problem, tau: Tensor | float, *, fused: bool = True
    ) -> list[tuple[Tensor, Tensor]]:
        """Per-anchor losses and has-positive flags of every direction: dense or tiled as
        :meth:`resolve_tile_size` decides (CLIP's two directions share one tiled pass when ``fused``)."""
        tile_size = self.resolve_tile_size(problem)
        if tile_size is None:
            if (fused and self.mode == "symmetric" and len(problem.directions) == 2
                    and type(self._similarity) in _SYMMETRIC_SIMILARITIES):
                # CLIP's b->a logits are the transpose of a->b's first N columns (for a symmetric
                # s): one similarity GEMM and two backward GEMMs instead of two and four. The
                # contiguous copy keeps the row reductions off a strided (transposed) layout.
                forward, backward = problem.directions
                logits = self.logits(forward, tau)
                owned = "logits" not in self._dense_only_hooks  # our own GEMM output
                paired = self._paired_symmetric_rows(forward, backward, logits, tau, owned=owned)
                if paired is not None:
                    return paired
                back = logits[:, : backward.candidates.shape[0]].transpose(0, 1).contiguous()
                return [self.direction_rows(forward, tau, logits=logits, owned=owned),
                        self.direction_rows(backward, tau, logits=back, owned=True)]
            return [self.direction_rows(d, tau) for d in problem.directions]
        self._check_tileable()
        options = dict(similarity=self._similarity, tile_size=tile_size,
                       positives_in_denominator=self.positives_in_denominator,
                       positive_scale=self.positive_scale_from_mean if self._scales_positive else None,
                       tile_cache_mb=self.tile_cache_mb, tile_cache=self._tile_cache)
        if fused and self.mode == "symmetric" and len(problem.directions) == 2:
            return tiled_symmetric_rows(*problem.directions, tau, **options)  # type: ignore[arg-type]
        # A listwise direction has no shared candidates (no B x B matrix): its O(N K) rows run dense.
        return [self.direction_rows(d, tau) if d.candidates.shape[0] == 0
                else tiled_direction_rows(d, tau, **options)  # type: ignore[arg-type]
                for d in problem.directions]

    def resolve_tile_size(self, problem: Problem) -> int | None:
        """The tile edge this call runs with (``None``: dense). An integer ``tile_size`` is used
        as given; ``"auto"`` tiles when the configuration has a tiled execution and its largest
        direction's logit matrix passes :func:`~contrastkit.functional.tiled.auto_tile_size`."""
        if self.tile_size != "auto":
            return self.tile_size  # type: ignore[return-value]
        if not self.tiles or not isinstance(self._similarity, (Cosine, Dot)):
            return None
        tiles = [auto_tile_size(d) for d in problem.directions]
        return max((t for t in tiles if t is not None), default=None)

    # ------------------------------------------------------------------ pieces
    def logits(self, direction: Direction, tau: Tensor | float) -> Tensor:
        """``(A, C)`` logits ``s_ij / tau`` in the compute dtype (float32 for half inputs)."""
        sim = self._similarity
        if isinstance(sim, (Cosine, Dot)):
            # Bilinear: (a / tau) . c == (a . c) / tau, and scaling the (A, d) rows costs O(A d)
            # where dividing the (A, C) logits costs O(A C) forward and again backward (cosine:
            # normalised and scaled in one pass, upcast first as below).
            if direction.shared:
                # Two views against themselves: l = U U^T with u = prepare(z) / sqrt(tau), whose
                # backward is one symmetric product (G + G^T) U instead of two GEMMs.
                u, _ = prepared_inputs(direction, sim, tau, 0.5, symmetric=True)
                return symmetric_gram(u)
            x, candidates = prepared_inputs(direction, sim, tau, 1.0)
            assert candidates is not None
            return sim.pairwise(x, candidates)
        dtype = compute_dtype(direction.anchors, direction.candidates)
        # Upcast before the product: half-precision scores would be rounded before the division.
        anchors = sim.prepare(direction.anchors).to(dtype)
        candidates = anchors if direction.shared else sim.prepare(direction.candidates).to(dtype)
        return sim.pairwise(anchors, candidates) / tau

    def group_logits(self, direction: Direction, tau: Tensor | float) -> Tensor:
        """``(A, K)`` logits ``s(a_i, c_ik) / tau`` of each anchor's own candidates."""
        assert direction.group is not None
        sim = self._similarity
        dtype = compute_dtype(direction.anchors, direction.group)
        anchors = sim.prepare(direction.anchors).to(dtype).unsqueeze(1)
        group = sim.prepare(direction.group).to(dtype)
        if isinstance(sim, (Cosine, Dot)):
            return sim.pairwise(_divide(anchors, tau), group).squeeze(1)
        return sim.pairwise(anchors, group).squeeze(1) / tau

    def direction_rows(
        self, direction: Direction, tau: Tensor | float, *, logits: Tensor | None = None, owned: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Per-anchor losses and has-positive flags of one direction (``logits``: precomputed
        ``self.logits(direction, tau)``; ``owned``: a temporary this call may overwrite).
        Per-anchor candidates become extra columns."""
        if logits is None:
            by_class = self._class_sum_rows(direction, tau)
            if by_class is not None:
                return by_class
            logits = self.logits(direction, tau)
            owned = "logits" not in self._dense_only_hooks  # our own GEMM output: nobody else reads it
        n_rows, n_shared = logits.shape
        if direction.group is not None:
            logits = torch.cat([logits, self.group_logits(direction, tau).to(logits.dtype)], 1)
            owned = True
        q = direction.positives.denominator_tile(slice(0, n_rows), slice(0, logits.shape[1]), logits.dtype)
        pairs = self._sparse_positive_pairs(direction, logits)
        if pairs is not None:
            rows, cols = pairs
            scale = None
            if self._scales_positive:
                with torch.no_grad():
                    counts = torch.bincount(rows, minlength=n_rows).clamp_min(1).to(logits.dtype)
                    pos_mean = torch.zeros_like(counts).index_add_(0, rows, logits[rows, cols]) / counts
                scale = self.positive_scale_from_mean(pos_mean, tau)
            return info_nce_pair_rows(logits, rows, cols, direction.positives.anchor_self,
                                      positives_in_denominator=self.positives_in_denominator,
                                      positive_scale=scale, denominator_weight=q, owned=owned)
        weight, valid = direction.positives.dense(logits.dtype)
        if direction.group is not None:
            k = logits.shape[1] - n_shared
            extra = torch.zeros(n_rows, k, dtype=weight.dtype, device=weight.device)
            if direction.group_positive is not None:
                extra.scatter_(1, direction.group_positive.unsqueeze(1), 1.0)
            weight = torch.cat([weight, extra], 1)
            valid = torch.cat([valid, torch.ones_like(extra, dtype=torch.bool)], 1)
        scale = None
        if self._scales_positive:
            with torch.no_grad():
                pos_mean = (weight * logits).sum(1) / weight.sum(1).clamp_min(1e-12)
            scale = self.positive_scale_from_mean(pos_mean, tau)
        return info_nce_rows(
            logits,
            weight,
            valid,
            positives_in_denominator=self.positives_in_denominator,
            denominator_mask=self.denominator_mask(logits, weight, valid),
            positive_scale=scale,
            denominator_weight=q,
        )

    def _class_sum_rows(self, direction: Direction, tau: Tensor | float) -> tuple[Tensor, Tensor] | None:
        """Dense SupCon-style rows whose positive term comes from per-class sums of the inputs.

        With many positives per anchor (labels: more than ``SPARSE_PAIRS_PER_ROW`` on average),
        ``sum_{p in P(i)} l_ip = <x_i / tau, sum_{j: id_j = id_i, j != i} c_j>`` costs ``O(B d)``
        (:func:`~contrastkit.functional.tiled.hard_numerator`, as in the tiled path), where a
        gather and a scatter over every positive pair of the logit matrix cost ``O(pairs)``;
        the logits then only feed the denominator's log-sum-exp. Same values (to rounding) and
        gradients. ``None`` where it does not apply (soft weights, known pairs, DCL, a dense
        denominator rule, per-anchor candidates, a similarity other than cosine / dot, a
        subclass with its own ``logits``)."""
        positives = direction.positives
        if (positives.soft is not None or positives.pairs is not None or direction.group is not None
                or not self.positives_in_denominator or self._masks_denominator
                or "logits" in self._dense_only_hooks or not isinstance(self._similarity, (Cosine, Dot))):
            return None
        n_rows = direction.anchors.shape[0]
        if positive_pairs(positives, limit=SPARSE_PAIRS_PER_ROW * n_rows) is not None:
            return None  # few pairs: the sparse pair path is as cheap
        # The same products as self.logits(), the numerator from the same rows.
        if direction.shared:
            u, _ = prepared_inputs(direction, self._similarity, tau, 0.5, symmetric=True)
            logits = symmetric_gram(u)
            num, total = hard_numerator(positives, u, u)
        else:
            x, candidates = prepared_inputs(direction, self._similarity, tau, 1.0)
            assert candidates is not None
            logits = self._similarity.pairwise(x, candidates)
            num, total = hard_numerator(positives, x, candidates)
        if positives.anchor_self is None:
            self_rows = self_cols = torch.zeros(0, dtype=torch.long, device=logits.device)
        else:
            keep = positives.anchor_self >= 0
            self_rows = torch.arange(n_rows, device=logits.device)[keep]
            self_cols = positives.anchor_self[keep]
        q = positives.denominator_tile(slice(0, n_rows), slice(0, logits.shape[1]), logits.dtype)
        lse = info_nce_lse_rows(logits, self_rows, self_cols, denominator_weight=q, owned=True)
        return finish_rows(lse, num, total, tau, self.positive_scale_from_mean if self._scales_positive else None)

    def _paired_symmetric_rows(
        self, forward: Direction, backward: Direction, logits: Tensor, tau: Tensor | float, *, owned: bool = False
    ) -> list[tuple[Tensor, Tensor]] | None:
        """CLIP with index-paired positives: both directions from ``logits`` without a transposed
        copy (:func:`info_nce_paired_symmetric_rows`); ``None`` when the case does not apply."""
        n = logits.shape[0]
        index = torch.arange(n, device=logits.device)
        for direction in (forward, backward):
            pairs = direction.positives.pairs
            if (pairs is None or direction.positives.soft is not None or direction.positives.anchor_self is not None
                    or direction.positives.has_denominator_weights or direction.group is not None
                    or not (torch.equal(pairs[0], index) and torch.equal(pairs[1], index))):
                return None
        if self._sparse_positive_pairs(forward, logits) is None:  # a dense-only denominator rule
            return None
        scales: list[Tensor | None] = [None, None]
        if self._scales_positive:
            diag = logits.detach().diagonal()[:n]
            scales = [self.positive_scale_from_mean(diag, tau), self.positive_scale_from_mean(diag, tau)]
        row_loss, col_loss = info_nce_paired_symmetric_rows(
            logits, positives_in_denominator=self.positives_in_denominator,
            row_scale=scales[0], col_scale=scales[1], owned=owned)
        every = torch.ones(n, dtype=torch.bool, device=logits.device)
        return [(row_loss, every), (col_loss, every)]

    def _sparse_positive_pairs(self, direction: Direction, logits: Tensor) -> tuple[Tensor, Tensor] | None:
        """Hard positives as sparse pairs (per-anchor group positives included) when the fast dense
        path applies (no soft weights, no dense denominator rule, and at most a quarter of the
        matrix positive); else ``None``."""
        if direction.positives.soft is not None or self._masks_denominator:
            return None
        pairs = positive_pairs(direction.positives, limit=logits.numel() // 4)
        if pairs is None or direction.group_positive is None:
            return pairs
        rows = torch.arange(logits.shape[0], device=logits.device)
        cols = direction.positives.num_candidates + direction.group_positive
        return torch.cat([pairs[0], rows]), torch.cat([pairs[1], cols])

    def _check_tileable(self) -> None:
        # Declared at class creation: a subclass's dense hooks are never called by the tiled kernels.
        if self._dense_only_hooks:
            raise ValueError(f"tile_size: {type(self).__name__} overrides {', '.join(self._dense_only_hooks)}() "
                             "and has no tiled execution; use tile_size=None")
        for variant in self.variants():
            if not variant.tiles:
                raise ValueError(f"tile_size: {variant.option!r} has no tiled execution; use tile_size=None")

    def denominator_mask(self, logits: Tensor, weight: Tensor, valid: Tensor) -> Tensor | None:
        """Extra restriction of the dense denominator set: the hardest negatives when
        ``hard_top_k`` / ``hard_fraction`` is set (a subclass may override it: dense only)."""
        if self.hard_top_k is None and self.hard_fraction is None:
            return None
        from contrastkit.mining.hard_negatives import hardest_negatives_mask

        negative = valid & (weight <= 0)
        return (weight > 0) | hardest_negatives_mask(logits, negative, top_k=self.hard_top_k,
                                                     fraction=self.hard_fraction)

    def positive_scale_from_mean(self, pos_mean: Tensor, tau: Tensor | float) -> Tensor | None:
        """Detached per-anchor factor on the positive term from each anchor's mean positive logit
        (DCLW's vMF weight when ``vmf_sigma`` is set); used by the dense and the tiled path."""
        if self.vmf_sigma is None:
            return None
        with torch.no_grad():
            return self._vmf_weight(pos_mean * tau)

    def _vmf_weight(self, pos_sim: Tensor) -> Tensor:
        # The softmax runs over all anchors of the direction, on every rank when distributed.
        assert self.vmf_sigma is not None
        z = pos_sim / self.vmf_sigma
        if self.gather_distributed and ckdist.is_distributed():
            log_norm, count = ckdist.global_log_normalizer(z)
            return 2 - count * torch.exp(z - log_norm)
        return 2 - z.shape[0] * torch.softmax(z, dim=0)

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


def _divide(x: Tensor, tau: Tensor | float) -> Tensor:
    """``x / tau`` in ``x``'s dtype (a tensor temperature keeps its gradient)."""
    return x / (tau.to(x.dtype) if isinstance(tau, Tensor) else tau)


def _preset_kwargs(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A preset's fixed variant options, refusing them as arguments."""
    for key in cls._fixed:  # type: ignore[attr-defined]
        if key in kwargs:
            raise TypeError(f"{key}: fixed by {cls.__name__}; use InfoNCE({key}=...) to choose it")
    return kwargs | cls._fixed  # type: ignore[attr-defined]


class DCL(InfoNCE):
    """Decoupled contrastive loss (Yeh et al., ECCV 2022, "Decoupled Contrastive Learning", Eq. 6).

    ``L_i = -l_ip + log sum_{j not in P(i) and j != i} exp(l_ij)``: the positive is removed from
    the denominator, which removes the negative-positive coupling factor ``1 - p_pos`` from the
    gradient. Paper default ``tau = 0.1``. Preset of ``InfoNCE(decoupled=True)``.
    """

    citation: ClassVar[str] = "Yeh et al. 2022, ECCV, Decoupled Contrastive Learning"
    _config_keys: ClassVar[tuple[str, ...]] = _BASE_KEYS
    _fixed: ClassVar[dict[str, Any]] = {"decoupled": True}

    def __init__(self, temperature: float = 0.1, **kwargs: Any) -> None:
        super().__init__(temperature, **_preset_kwargs(type(self), kwargs))


class DCLW(DCL):
    """DCL with the von Mises-Fisher positive weight (Yeh et al., ECCV 2022, DCLW).

    ``w_i = 2 - exp(s_ip / sigma) / E_k[exp(s_kp / sigma)] = 2 - A softmax_i(s_ip / sigma)`` over
    the ``A`` anchors, ``s_ip`` the anchor's (mean) positive similarity. The weight carries no
    gradient, as in lightly's ``DCLWLoss``. Defaults ``tau = 0.1``, ``sigma = 0.5``. Preset of
    ``InfoNCE(decoupled=True, vmf_sigma=sigma)``.
    """

    _config_keys: ClassVar[tuple[str, ...]] = _BASE_KEYS + ("sigma",)
    _fixed: ClassVar[dict[str, Any]] = {"decoupled": True}

    def __init__(self, temperature: float = 0.1, *, sigma: float = 0.5, **kwargs: Any) -> None:
        if "vmf_sigma" in kwargs:
            raise TypeError("vmf_sigma: DCLW takes sigma=")
        super().__init__(temperature, vmf_sigma=check_positive_float(sigma, "sigma"), **kwargs)

    @property
    def sigma(self) -> float:
        assert self.vmf_sigma is not None
        return self.vmf_sigma


class HardNegativeInfoNCE(InfoNCE):
    """InfoNCE with explicit hard-negative selection (Wang & Liu, CVPR 2021, "Understanding the
    Behaviour of Contrastive Loss", L_hard).

    ``L_i = -l_ip + log( exp(l_ip) + sum_{k in H(i)} exp(l_ik) )``, ``H(i)`` the ``top_k`` most
    similar negatives of anchor ``i`` (or the top ``fraction`` of them). With every negative
    kept it equals :class:`InfoNCE`. Preset of ``InfoNCE(hard_top_k=...)`` / ``hard_fraction``;
    dense only (the selection needs whole rows).
    """

    citation: ClassVar[str] = "Wang & Liu 2021, CVPR, Understanding the Behaviour of Contrastive Loss"
    _config_keys: ClassVar[tuple[str, ...]] = _BASE_KEYS + ("decoupled", "top_k", "fraction")

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        top_k: int | None = None,
        fraction: float | None = None,
        **kwargs: Any,
    ) -> None:
        if (top_k is None) == (fraction is None):
            raise ValueError("top_k, fraction: give exactly one of them")
        if top_k is not None:
            check_positive_int(top_k, "top_k")
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError(f"fraction: expected a number in (0, 1], got {fraction!r}")
        for key in ("hard_top_k", "hard_fraction"):
            if key in kwargs:
                raise TypeError(f"{key}: HardNegativeInfoNCE takes top_k= / fraction=")
        super().__init__(temperature, hard_top_k=top_k, hard_fraction=fraction, **kwargs)

    @property
    def top_k(self) -> int | None:
        return self.hard_top_k

    @property
    def fraction(self) -> float | None:
        return self.hard_fraction


__all__ = ["DCL", "DCLW", "VARIANTS", "HardNegativeInfoNCE", "InfoNCE", "Variant"]
