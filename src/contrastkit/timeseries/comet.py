"""COMET: hierarchical contrast at the observation, sample, trial and patient levels.

Wang et al., NeurIPS 2023, "Contrast Everything: A Hierarchical Contrastive Framework for
Medical Time-Series" (code: DL4mHealth/COMET). With encoder outputs ``r, r'`` ``(B, T, D)`` of
two views:

- observation level ``L_O``: TS2Vec temporal contrast (positive = same time step, other view),
- sample level ``L_S``: TS2Vec instance contrast (positive = same series, other view),
  both hierarchical over max-pooled scales *without* TS2Vec's final ``T = 1`` instance term;
- trial level ``L_T`` / patient level ``L_P``: contrast of flattened, time-normalised
  representations ``u_i = vec(r_i / |r_i|_time)`` with cosine similarity and ``tau = 0.1``,
  positives = samples that share the trial (patient) id;
- ``L = l_P L_P + l_T L_T + l_S L_S + l_O L_O`` (official defaults 0.25 each).

Every level is the core :class:`contrastkit.losses.InfoNCE` with positives given by group ids:
``L_O`` / ``L_S`` group by time step / series (:mod:`contrastkit.timeseries.losses`), ``L_T`` /
``L_P`` pass trial / patient ids as ``labels=``.

Trial / patient level forms (``pairs=``):

- ``"labels"`` (default): ``InfoNCE(tau=0.1, mode="symmetric")(u, u', labels=ids)``; anchor
  ``u_i`` is scored against all ``u'_k`` and its positives are every ``u'_j`` with the same id
  (its own other view included), and symmetrically. This is the symmetrised form that the
  official code's comment asks for ("technically need to add 1 more term for symmetry").
- ``"official"``: the official ``id_contrastive_loss`` exactly:
  ``L = 1/2 [mean_{i<j, id_i=id_j} -log S_ij / sum_k S_ik + mean_{i>j, id_i=id_j} -log S_ij / sum_k S_kj]``
  with ``S_ij = exp(cos(u_i, u'_j)/0.1)``, 0 when no pair shares an id. Expressed with the core
  InfoNCE (``mode="a_to_b"``) in both directions with the positive pattern "same id and later
  index" given as ``weights=``, per-anchor losses weighted by their positive count (pair mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit._validation import check_embeddings, check_labels, check_positive_float
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE
from contrastkit.timeseries.losses import hierarchical_contrastive_loss

LEVELS = ("patient", "trial", "sample", "observation")
PAIR_FORMS = ("labels", "official")


def flatten_time_normalized(z: Tensor) -> Tensor:
    """``u_i = vec(r_i / |r_i|_time)``: L2-normalise each channel over time, flatten ``(B, D*T)``."""
    z = F.normalize(z, dim=1)
    return z.permute(0, 2, 1).reshape(z.shape[0], -1)


class IDContrastiveLoss(ContrastiveLoss):
    """COMET's trial / patient level contrast ``L_T`` / ``L_P`` (Wang et al., NeurIPS 2023).

    Call ``loss(z1, z2, ids)`` with ``(B, T, D)`` representations of two views and ``(B,)`` integer
    trial or patient ids; both ``pairs`` forms are described in the module docstring.

    Args:
        temperature: ``tau`` (official 0.1).
        pairs: ``"labels"`` (symmetrised, default) or ``"official"`` (the official
            ``id_contrastive_loss``; 0 when no two samples share an id).
        reduction: ``mean`` only: the official form is a mean over same-id pairs, not over rows.

    Raises:
        ValueError / TypeError: ``z1`` not ``(B, T, D)``, ``z2`` of another shape, ``ids`` not ``(B,)`` integers.
    """

    citation: ClassVar[str] = "Wang et al. 2023, NeurIPS, Contrast Everything: hierarchical CL for medical time series"
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "pairs")
    reductions: ClassVar[tuple[str, ...]] = ("mean",)

    def __init__(self, temperature: float = 0.1, pairs: str = "labels", *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if pairs not in PAIR_FORMS:
            raise ValueError(f"pairs: unknown option {pairs!r}; expected one of {PAIR_FORMS}")
        self.temperature, self.pairs = check_positive_float(temperature, "temperature"), pairs

    def forward(self, z1: Tensor, z2: Tensor, ids: Tensor) -> Tensor:
        check_embeddings(z1, "z1", rank=3)
        if z1.shape != z2.shape:
            raise ValueError(f"z2: expected the shape of z1 (batch, time, dims) {tuple(z1.shape)}, got "
                             f"{tuple(z2.shape)}")
        ids = check_labels(ids, z1.shape[0], "ids").to(z1.device)
        u1, u2 = flatten_time_normalized(z1), flatten_time_normalized(z2)
        if self.pairs == "labels":
            return InfoNCE(self.temperature, mode="symmetric")(u1, u2, labels=ids)
        n = ids.shape[0]
        index = torch.arange(n, device=ids.device)
        later = (ids.unsqueeze(1) == ids.unsqueeze(0)) & (index.unsqueeze(0) > index.unsqueeze(1))
        if not later.any():
            return z1.new_zeros(())
        weights = later.to(u1.dtype)
        count = weights.sum(1)
        loss = InfoNCE(self.temperature, mode="a_to_b", reduction="none", no_positive="ignore")
        upper = (loss(u1, u2, weights=weights) * count).sum() / count.sum()
        lower = (loss(u2, u1, weights=weights) * count).sum() / count.sum()
        return (upper + lower) / 2


def id_contrastive_loss(z1: Tensor, z2: Tensor, ids: Tensor, *, temperature: float = 0.1,
                        pairs: str = "labels") -> Tensor:
    """COMET trial / patient level contrast: :class:`IDContrastiveLoss` (see the module docstring).

    Args:
        z1, z2: ``(B, T, D)`` representations of two views.
        ids: ``(B,)`` integer trial or patient ids.
        temperature: ``tau`` (official 0.1).
        pairs: ``"labels"`` or ``"official"``.
    """
    return IDContrastiveLoss(temperature, pairs)(z1, z2, ids)


@dataclass
class COMETOutput:
    loss: Tensor
    parts: dict[str, Tensor]


class COMETLoss(ContrastiveLoss):
    """COMET's four-level loss ``l_P L_P + l_T L_T + l_S L_S + l_O L_O`` (Wang et al., NeurIPS 2023).

    Args:
        weights: ``{level: lambda}`` for ``patient``, ``trial``, ``sample``, ``observation``
            (missing levels get 0). Official default 0.25 each.
        pairs: trial / patient form, ``"labels"`` or ``"official"`` (see module docstring).
        temperature: ``tau`` of the trial / patient levels (0.1).
        reduction: ``mean`` only: each level is already a mean over its own anchors (instances,
            time steps, trials), so there is no one value per input row.

    The call returns a :class:`COMETOutput` (the total and its per-level ``parts``, which
    :meth:`parts` also returns) rather than a bare tensor.
    """

    citation: ClassVar[str] = "Wang et al. 2023, NeurIPS, Contrast Everything: hierarchical CL for medical time series"
    _config_keys: ClassVar[tuple[str, ...]] = ("weights", "pairs", "temperature")
    reductions: ClassVar[tuple[str, ...]] = ("mean",)
    part_names: ClassVar[tuple[str, ...]] = LEVELS

    def __init__(self, weights: dict[str, float] | None = None, *, pairs: str = "labels",
                 temperature: float = 0.1, reduction: str = "mean"):
        super().__init__(reduction)
        weights = dict.fromkeys(LEVELS, 0.25) if weights is None else dict(weights)
        unknown = set(weights) - set(LEVELS)
        if unknown:
            raise ValueError(f"weights: unknown levels {sorted(unknown)}; expected keys from {LEVELS}")
        if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise ValueError(f"weights: expected non-negative weights, at least one > 0, got {weights}")
        if pairs not in PAIR_FORMS:
            raise ValueError(f"pairs: unknown option {pairs!r}; expected one of {PAIR_FORMS}")
        self.weights = {lvl: float(weights.get(lvl, 0.0)) for lvl in LEVELS}
        self.pairs, self.temperature = pairs, check_positive_float(temperature, "temperature")

    def parts(self, group_views: tuple[Tensor, Tensor] | None, masked_views: tuple[Tensor, Tensor] | None,
              **ids: Tensor | None) -> dict[str, Tensor]:
        """The unweighted loss of every level with a weight > 0 (same arguments as the call)."""
        return self(group_views, masked_views, **ids).parts

    def forward(self, group_views: tuple[Tensor, Tensor] | None,
                masked_views: tuple[Tensor, Tensor] | None, *, trial_ids: Tensor | None = None,
                patient_ids: Tensor | None = None) -> COMETOutput:
        """Loss from two pairs of views.

        Args:
            group_views: ``(r, r')`` unmasked views for the trial / patient levels.
            masked_views: ``(r, r')`` span-masked views for the sample / observation levels.
            trial_ids, patient_ids: ``(B,)`` ids (needed when their level has weight > 0).
        """
        w = self.weights
        parts: dict[str, Tensor] = {}
        for level, ids in (("patient", patient_ids), ("trial", trial_ids)):
            if w[level] > 0:
                if group_views is None or ids is None:
                    raise ValueError(f"{level}_ids: level {level!r} has weight {w[level]} and needs "
                                     "group_views and its ids")
                ids = check_labels(ids, group_views[0].shape[0], f"{level}_ids")
                parts[level] = IDContrastiveLoss(self.temperature, self.pairs)(*group_views, ids)
        for level, alpha in (("sample", 1.0), ("observation", 0.0)):
            if w[level] > 0:
                if masked_views is None:
                    raise ValueError(f"masked_views: level {level!r} has weight {w[level]} and needs them")
                parts[level] = hierarchical_contrastive_loss(*masked_views, alpha=alpha,
                                                             final_instance=False)
        loss = sum(w[level] * value for level, value in parts.items())
        return COMETOutput(loss=loss, parts=parts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Hierarchy:
    """Samples with their trial and patient ids and a patient-level label.

    ``x``: ``(n, C, window)``; ``trial``, ``patient``, ``label``: ``(n,)`` int64.
    """

    x: Tensor
    trial: Tensor
    patient: Tensor
    label: Tensor

    def subset(self, patients: Tensor) -> Hierarchy:
        keep = torch.isin(self.patient, patients)
        return Hierarchy(self.x[keep], self.trial[keep], self.patient[keep], self.label[keep])


def build_hierarchy(
    x: Tensor, y: Tensor, *, trials_per_patient: int = 2, window: int = 40, stride: int = 20,
    subject_effect: float = 0.2, seed: int = 0,
) -> Hierarchy:
    """Patient / trial / sample hierarchy from a labelled multivariate set (documented construction).

    Bundled UCR/UEA sets carry no subject ids, so COMET's hierarchy is built as follows:

    1. trial = one recording ``x[i]`` (e.g. one BasicMotions 10 s smartwatch recording);
    2. pseudo-patient = ``trials_per_patient`` consecutive recordings (in file order) *of the
       same class*, so each patient has one label, as in COMET's data (a patient is healthy or not);
    3. subject effect: every patient gets one random per-channel gain ``~ N(1, subject_effect^2)``
       applied to all its trials (inter-subject variability that a subject-independent probe must
       generalise across);
    4. sample = sliding window of ``window`` steps with ``stride``; observation = time step.

    Recordings of a class that do not fill a whole patient are dropped.
    """
    if x.dim() != 3:
        raise ValueError(f"x: expected (n, channels, length), got {tuple(x.shape)}")
    y = check_labels(y, x.shape[0], "y")
    if window > x.shape[-1] or window < 2 or stride < 1:
        raise ValueError(f"window, stride: need 2 <= window <= {x.shape[-1]} and stride >= 1, got "
                         f"{window}, {stride}")
    if trials_per_patient < 1:
        raise ValueError(f"trials_per_patient: expected an integer >= 1, got {trials_per_patient}")
    rng = np.random.default_rng(seed)
    xs, trials, patients, labels = [], [], [], []
    patient = 0
    starts = range(0, x.shape[-1] - window + 1, stride)
    for cls in torch.unique(y).tolist():
        members = torch.nonzero(y == cls).flatten().tolist()
        for p0 in range(0, len(members) - trials_per_patient + 1, trials_per_patient):
            gain = torch.as_tensor(rng.normal(1.0, subject_effect, size=(x.shape[1], 1)),
                                   dtype=x.dtype)
            for trial in members[p0:p0 + trials_per_patient]:
                for s in starts:
                    xs.append(x[trial, :, s:s + window] * gain)
                    trials.append(trial)
                    patients.append(patient)
                    labels.append(cls)
            patient += 1
    as_long = lambda v: torch.tensor(v, dtype=torch.int64)  # noqa: E731
    return Hierarchy(torch.stack(xs), as_long(trials), as_long(patients), as_long(labels))


def patient_split(h: Hierarchy, test_fraction: float = 0.3, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Subject-independent split: patient ids ``(train, test)``, stratified by label."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for cls in torch.unique(h.label).tolist():
        pats = torch.unique(h.patient[h.label == cls])
        pats = pats[torch.randperm(len(pats), generator=g)]
        n_test = max(1, round(test_fraction * len(pats)))
        test.append(pats[:n_test])
        train.append(pats[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def group_batches(groups: Tensor, batch_size: int, *, generator: torch.Generator | None = None) -> list[Tensor]:
    """Index batches in which members of a group co-occur (COMET's ``shuffle_function='trial'``).

    Groups are visited in random order, their members concatenated and cut into batches of
    ``batch_size``; each batch is then shuffled internally.
    """
    uniq = torch.unique(groups)
    order = uniq[torch.randperm(len(uniq), generator=generator)]
    index = torch.cat([torch.nonzero(groups == g).flatten() for g in order])
    batches = list(index.split(batch_size))
    return [b[torch.randperm(len(b), generator=generator)] for b in batches]


__all__ = [
    "COMETLoss",
    "COMETOutput",
    "Hierarchy",
    "LEVELS",
    "build_hierarchy",
    "flatten_time_normalized",
    "group_batches",
    "IDContrastiveLoss",
    "id_contrastive_loss",
    "patient_split",
]
