"""Backdoor metrics: attack success rate (ASR) and clean accuracy of a linear or zero-shot head.

ASR (as in CleanCLIP's ``src/evaluate.py``, which keeps ``label != 954``): the share of test
inputs whose *true* class is not the target that are predicted as the target once triggered.
Target-class rows are left out of the denominator: predicting them as the target is correct,
not an attack.
"""

from __future__ import annotations

from torch import Tensor

from contrastkit.backdoor._checks import check_target, int_labels
from contrastkit.evaluate import fit_linear_probe, zero_shot_predict


def attack_success_rate(pred: object, true: object, target: int) -> float:
    """``ASR = |{i : true_i != t, pred_i = t}| / |{i : true_i != t}|``.

    Args:
        pred: ``(n,)`` integer predictions on *triggered* inputs.
        true: ``(n,)`` integer true classes of the same inputs.
        target: the attacker's target class ``t``.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: shapes differ, or no row has a true class other than ``target`` (ASR undefined).
    """
    p = int_labels(pred, None, "pred")
    y = int_labels(true, p.shape[0], "true")
    t = check_target(target)
    keep = y != t
    if not bool(keep.any()):
        raise ValueError(f"true: no row has a true class other than the target {t}; the attack success "
                         "rate is undefined")
    return float((p[keep] == t).double().mean())


def clean_accuracy(pred: object, true: object) -> float:
    """Share of clean inputs predicted as their true class, ``(n,)`` integer ids each."""
    p = int_labels(pred, None, "pred")
    y = int_labels(true, p.shape[0], "true")
    if not p.numel():
        raise ValueError("pred: expected at least one row")
    return float((p == y).double().mean())


def linear_probe_backdoor(train_emb: object, train_labels: object, test_emb: object, test_labels: object,
                          triggered_emb: object, target: int, *, max_iter: int = 3000, C: float = 1.0,
                          seed: int = 0) -> dict[str, float]:
    """Clean accuracy and ASR of one linear probe (:func:`contrastkit.evaluate.fit_linear_probe`).

    The probe is fitted on clean ``train_emb`` (the victim's linear evaluation); it classifies the
    clean ``test_emb`` (clean accuracy) and ``triggered_emb``, the embeddings of the same test
    images with the trigger (ASR against ``test_labels``).

    Returns:
        ``{"clean_accuracy": ..., "asr": ...}`` as fractions.

    Raises:
        ValueError: ``target`` not among ``train_labels``; ``triggered_emb`` and ``test_emb`` of
            different row counts.
    """
    ytr = int_labels(train_labels, None, "train_labels")
    t = check_target(target, ytr)
    probe = fit_linear_probe(train_emb, train_labels, max_iter=max_iter, C=C, seed=seed)
    clean = probe.predict(test_emb)
    trig = probe.predict(triggered_emb)
    if trig.shape != clean.shape:
        raise ValueError(f"triggered_emb: expected {clean.shape[0]} rows (one per test image), got {trig.shape[0]}")
    return {"clean_accuracy": clean_accuracy(clean, test_labels),
            "asr": attack_success_rate(trig, test_labels, t)}


def zero_shot_backdoor(clean_emb: object, triggered_emb: object, class_text_emb: Tensor, labels: object,
                       target: int) -> dict[str, float]:
    """Zero-shot clean accuracy and ASR of a two-tower model (CLIP protocol).

    Args:
        clean_emb, triggered_emb: ``(n, d)`` image embeddings of the test images without / with the trigger.
        class_text_emb: ``(C, d)`` one prompt embedding per class.
        labels: ``(n,)`` true classes.
        target: target class, in ``[0, C)``.
    """
    t = check_target(target)
    n_cls = int(getattr(class_text_emb, "shape", (0,))[0])
    if not 0 <= t < n_cls:
        raise ValueError(f"target: class {t} is not among the {n_cls} classes of class_text_emb")
    clean = zero_shot_predict(clean_emb, class_text_emb)
    trig = zero_shot_predict(triggered_emb, class_text_emb)
    if trig.shape != clean.shape:
        raise ValueError(f"triggered_emb: expected {clean.shape[0]} rows (one per test image), got {trig.shape[0]}")
    return {"clean_accuracy": clean_accuracy(clean, labels), "asr": attack_success_rate(trig, labels, t)}
