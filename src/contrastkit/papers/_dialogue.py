"""Shared pieces of the task-oriented-dialogue reproductions (Dialog2Flow, SPACE-2): the utterance set of
:mod:`contrastkit.text.dialogue` cached below the top layer(s) of the packaged all-MiniLM-L6-v2, a trainable
top layer + projection head, recipe sections, and the paired decision of a list of comparisons.

Fine-tuning all of MiniLM costs seconds per step on a shared CPU; the lower layers are frozen and their
(eval-mode) states cached (:func:`contrastkit.text.moe.lower_states`), and only the top ``n_top`` layers
(:class:`contrastkit.text.moe.TopLayers`, dropout active in train mode) and a training-only head are trained.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.papers._claims import paired, power_precondition
from contrastkit.papers._schema import PositiveFloat, PositiveInt, Section
from contrastkit.reproduce.result import Claim, fmt


class DataSection(Section):
    """The utterance set: ``per_template`` draws per template (seeded by ``seed`` + the run seed)."""

    per_template_train: PositiveInt
    per_template_held_out: PositiveInt
    seed: int
    max_length: PositiveInt


class ModelSection(Section):
    """Top ``n_top`` MiniLM layers trained; head ``Linear(d, head_hidden) - ReLU - Linear(head_hidden, head_out)``."""

    n_top: PositiveInt
    head_hidden: PositiveInt
    head_out: PositiveInt


class TrainerSection(Section):
    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: float = 0.0


class ComparisonSpec(Section):
    """A paired per-seed comparison: ``margin`` (``>= margin`` non-inferiority when negative, superiority
    at 0), ``alpha``, ``power``, and the effect the design must be able to detect (``effect``)."""

    margin: float
    alpha: PositiveFloat
    power: PositiveFloat
    effect: PositiveFloat


def head(dim: int, hidden: int, out: int) -> nn.Module:
    """DSE / Dialog2Flow's training-only contrastive head ``Linear - ReLU - Linear`` (no biases)."""
    return nn.Sequential(nn.Linear(dim, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, out, bias=False))


def utterance_sets(data: DataSection, seed: int) -> tuple[list[Any], list[Any]]:
    """``(train utterances, held-out-template utterances)`` of run ``seed`` (fillers drawn per seed)."""
    from contrastkit.text.dialogue import tod_utterances

    s = data.seed + 1000 * seed
    return (tod_utterances("train", per_template=data.per_template_train, seed=s),
            tod_utterances("held_out", per_template=data.per_template_held_out, seed=s + 1))


def encoder_and_states(data: DataSection, n_top: int, sets: list[list[Any]]) -> tuple[Any, list[tuple[Tensor,
                                                                                                       Tensor]]]:
    """The packaged MiniLM (``max_length``) and the cached lower-layer states of each utterance list."""
    from contrastkit.text import TextEncoder
    from contrastkit.text.moe import lower_states

    encoder = TextEncoder.from_pretrained(max_length=data.max_length)
    return encoder, [lower_states(encoder, [u.text for u in s], n_top) for s in sets]


def pooled(top: nn.Module, states: Tensor, mask: Tensor, batch_size: int = 256) -> Tensor:
    """Eval-mode pooled embeddings ``(n, d)`` of cached states (the evaluated features; the head is
    training-only): :func:`contrastkit.papers._text.embed` in chunks of ``batch_size``."""
    from contrastkit.papers._text import embed

    return embed(top, states, mask, batch_size=batch_size)


def label_ids(utterances: list[Any]) -> Tensor:
    """``(n,)`` int64 index of each utterance's act label in :data:`contrastkit.text.dialogue.LABELS`."""
    return torch.tensor([u.label_index for u in utterances], dtype=torch.int64)


def comparison_claims(name: str, method: list[float], baseline: list[float], spec: ComparisonSpec, *,
                      method_name: str, baseline_name: str, effect_source: str) -> list[Claim]:
    """The power precondition and the paired claim ``method >= baseline + margin`` over seeds."""
    test = paired(method, baseline, spec.model_dump())
    rel = ">=" if spec.margin < 0 else ">"
    label = (f"{method_name} {rel} {baseline_name}" + (f" - {-spec.margin:.2g}" if spec.margin < 0 else "")
             + f" on {name}")
    return [power_precondition(f"{name} ({method_name} vs {baseline_name}; effect: {effect_source})", test,
                               spec.effect, guards=label),
            Claim.from_test(label, test, note=f"{method_name} {fmt(method, digits=3)} vs {baseline_name} "
                                              f"{fmt(baseline, digits=3)}")]


def metric_table(values: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """``{"arm/metric": {"values": per-seed, "mean": ...}}`` (the layout ``per_seed_values`` reads)."""
    return {f"{arm}/{metric}": {"values": v, "mean": sum(v) / len(v)}
            for arm, per in values.items() for metric, v in per.items()}


__all__ = ["ComparisonSpec", "DataSection", "ModelSection", "TrainerSection", "comparison_claims",
           "encoder_and_states", "head", "label_ids", "metric_table", "pooled", "utterance_sets"]
