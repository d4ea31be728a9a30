"""contrastkit.continual: task plans, rehearsal buffers, metrics (hand values), frozen teacher."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch
from torch import nn

from contrastkit.continual import (
    ClassBalancedBuffer,
    ReservoirBuffer,
    TaskPlan,
    average_accuracy,
    forgetting,
    frozen_copy,
    mean_average_accuracy,
)


def test_task_plan_split_and_labels():
    plan = TaskPlan.split([f"c{i}" for i in range(10)], 3, first=4)
    assert plan.tasks == (("c0", "c1", "c2", "c3"), ("c4", "c5", "c6"), ("c7", "c8", "c9"))
    assert plan.label("c5") == 5 and plan.seen(1) == ("c0", "c1", "c2", "c3", "c4", "c5", "c6")
    assert plan.task_of("c8") == 2
    shuffled = TaskPlan.split([f"c{i}" for i in range(10)], 3, seed=1)
    assert sorted(shuffled.classes) == sorted(plan.classes) and shuffled.classes != plan.classes
    with pytest.raises(ValueError, match=r"^intent: 'x' is not in the task plan"):
        plan.label("x")
    with pytest.raises(ValueError, match=r"^tasks: classes \['a'\] appear in more than one task"):
        TaskPlan((("a", "b"), ("a",)))
    with pytest.raises(ValueError, match=r"^per_task: expected an integer >= 1"):
        TaskPlan.split(["a"], 0)


def test_reservoir_keeps_each_offer_with_equal_probability():
    counts: Counter[int] = Counter()
    for seed in range(2000):
        buf = ReservoirBuffer(3, seed=seed)
        buf.add(range(10))
        counts.update(buf.indices())
    for i in range(10):  # each kept with probability 3/10 -> 600 of 2000 (sd ~ 20)
        assert abs(counts[i] - 600) < 90, counts


def test_class_balanced_buffer_caps_every_class():
    buf = ClassBalancedBuffer(2, seed=0)
    buf.add(range(6), [0, 0, 0, 1, 1, 1])
    buf.add(range(6, 9), [2, 2, 2])
    kept = buf.indices()
    assert len(kept) == 6 and len(buf) == 6
    assert Counter([0 if i < 3 else 1 if i < 6 else 2 for i in kept]) == {0: 2, 1: 2, 2: 2}
    with pytest.raises(ValueError, match=r"^labels: a class-balanced buffer needs"):
        buf.add([1])
    with pytest.raises(ValueError, match=r"^per_class: expected an integer >= 1"):
        ClassBalancedBuffer(0)


def test_metrics_hand_values():
    a = [[0.9], [0.6, 0.8], [0.5, 0.7, 0.9]]
    assert average_accuracy(a) == pytest.approx((0.5 + 0.7 + 0.9) / 3)
    assert average_accuracy(a, after=1) == pytest.approx(0.7)
    assert mean_average_accuracy(a) == pytest.approx((0.9 + 0.7 + 0.7) / 3)
    # task 0: best 0.9 -> 0.5 (0.4); task 1: best 0.8 -> 0.7 (0.1)
    assert forgetting(a) == pytest.approx(0.25)
    assert forgetting([[0.7]]) == 0.0
    with pytest.raises(ValueError, match=r"^accuracies: row 1 needs"):
        forgetting([[0.9], [0.5]])
    rng = random.Random(0)
    assert 0 <= forgetting([[rng.random() for _ in range(t + 1)] for t in range(4)]) <= 1


def test_frozen_copy_is_detached_from_the_student():
    student = nn.Linear(3, 2)
    teacher = frozen_copy(student)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    with torch.no_grad():
        student.weight.add_(1.0)
    assert not torch.equal(teacher.weight, student.weight)
