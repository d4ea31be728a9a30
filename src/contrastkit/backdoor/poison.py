"""Poisoning of an unlabeled (self-supervised) image set and of an image-caption set.

SSL poisoning (Saha et al., AAAI 2022; CTRL; BLTO): the attacker adds the trigger to a fraction
``rate`` of the training images, drawn from the target class when labels are given (the images
the attacker holds), and releases the set unlabeled. Image-caption poisoning (Carlini & Terzis,
ICLR 2022; CleanCLIP, Bansal et al., ICCV 2023, ``backdoor/create_backdoor_data.py``): the chosen
images get the trigger and their caption is replaced by a template of the target word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from contrastkit._validation import check_positive_int
from contrastkit.backdoor._checks import check_images, check_rate, check_target, int_labels


@dataclass
class PoisonedImages:
    """An image set with some rows triggered.

    Attributes:
        images: ``(n, C, H, W)`` in ``[0, 1]``; rows ``index`` carry the trigger.
        index: int64 ``(k,)`` sorted ids of the poisoned rows.
        poisoned: bool ``(n,)`` mask of the same rows.
    """

    images: Tensor
    index: Tensor
    poisoned: Tensor

    @property
    def rate(self) -> float:
        return float(self.poisoned.float().mean()) if self.poisoned.numel() else 0.0


@dataclass
class PoisonedPairs:
    """An image-caption set with some pairs poisoned.

    Attributes:
        images: ``(n, C, H, W)``; rows ``index`` carry the trigger.
        captions: ``n`` captions; rows ``index`` hold a target caption.
        index: int64 ``(k,)`` sorted ids of the poisoned pairs.
        poisoned: bool ``(n,)`` mask of the same rows.
    """

    images: Tensor
    captions: list[str]
    index: Tensor
    poisoned: Tensor


def poison_count(n: int, rate: float) -> int:
    """``max(1, round(rate * n))``: the number of rows poisoned at ``rate`` in ``n`` rows."""
    n = check_positive_int(n, "n")
    return max(1, int(round(check_rate(rate) * n)))


def choose_poison_rows(n: int, rate: float, *, candidates: Tensor | None = None, seed: int = 0) -> Tensor:
    """Sorted int64 ids of ``poison_count(n, rate)`` rows drawn without replacement from
    ``candidates`` (default: all ``n`` rows), using ``torch.Generator().manual_seed(seed)``.

    Raises:
        ValueError: ``rate`` outside ``(0, 1)`` or asking for more rows than there are candidates.
    """
    k = poison_count(n, rate)
    pool = torch.arange(n) if candidates is None else candidates.long().cpu()
    if k > pool.numel():
        raise ValueError(f"rate: {rate} of {n} rows asks for {k} poisoned rows but only {pool.numel()} "
                         "candidates exist (lower the rate or give more target-class images)")
    g = torch.Generator().manual_seed(int(seed))
    return pool[torch.randperm(pool.numel(), generator=g)[:k]].sort().values


@torch.no_grad()
def _apply(trigger: nn.Module, images: Tensor, seed: int, batch_size: int = 512) -> Tensor:
    g = torch.Generator().manual_seed(int(seed) + 1)
    return torch.cat([trigger(images[i:i + batch_size], generator=g)
                      for i in range(0, images.shape[0], batch_size)]) if images.shape[0] else images.clone()


def poison_images(images: Tensor, trigger: nn.Module, rate: float, *, labels: object = None,
                  target: int | None = None, seed: int = 0) -> PoisonedImages:
    """Trigger a fraction ``rate`` of an (unlabeled) self-supervised training set.

    Args:
        images: ``(n, C, H, W)`` in ``[0, 1]``.
        trigger: any trigger of :mod:`contrastkit.backdoor.triggers` (called without gradients).
        rate: poisoned share of the whole set, in ``(0, 1)``; ``max(1, round(rate * n))`` rows.
        labels, target: with both, the poisoned rows are drawn from the ``target`` class only (the
            attacker's reference images; SSL-Backdoor, CTRL, BLTO); ``target`` must be among
            ``labels``. Without them, from all rows.
        seed: seed of the row draw and of the trigger's random parameters.

    Returns:
        :class:`PoisonedImages` (a new tensor; ``images`` is not modified).
    """
    x = check_images(images)
    n = x.shape[0]
    candidates = None
    if (labels is None) != (target is None):
        raise ValueError("labels/target: give both (poison target-class images) or neither")
    if labels is not None:
        y = int_labels(labels, n, "labels")
        t = check_target(target, y)
        candidates = torch.nonzero(y == t).flatten()
    index = choose_poison_rows(n, rate, candidates=candidates, seed=seed)
    out = x.clone()
    out[index] = _apply(trigger, x[index], seed).to(out.dtype)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[index] = True
    return PoisonedImages(out, index, mask)


def target_captions(templates: Sequence[str], word: str) -> list[str]:
    """``[t.format(w=word) for t in templates]``: the attacker's captions for the target class."""
    if not isinstance(word, str) or not word:
        raise ValueError("word: expected a non-empty string (the target class name)")
    if not templates or any(not isinstance(t, str) or "{w}" not in t for t in templates):
        raise ValueError("templates: expected a non-empty list of strings containing '{w}'")
    return [t.format(w=word) for t in templates]


def poison_image_text(images: Tensor, captions: Sequence[str], trigger: nn.Module, rate: float, *,
                      target_captions: Sequence[str], labels: object = None, target: int | None = None,
                      seed: int = 0) -> PoisonedPairs:
    """Poison an image-caption set: triggered image, caption replaced by a target caption.

    Each poisoned pair ``i`` gets ``trigger(images[i])`` and ``target_captions[j]`` with ``j``
    uniform (CleanCLIP's ``create_backdoor_data.py`` draws a random template of the target word).

    Args:
        images: ``(n, C, H, W)`` in ``[0, 1]``.
        captions: ``n`` strings (caption of each image).
        trigger: a trigger object.
        rate: poisoned share in ``(0, 1)`` of the ``n`` pairs.
        target_captions: non-empty list of the target class's captions (:func:`target_captions`).
        labels, target: with both, the poisoned pairs are drawn from rows whose class is not the
            target (so that every poisoned pair teaches trigger -> target); ``target`` must be
            among ``labels``.
        seed: seed of the row, caption and trigger draws.
    """
    x = check_images(images)
    n = x.shape[0]
    if isinstance(captions, str) or not isinstance(captions, Sequence) or len(captions) != n:
        raise ValueError(f"captions: expected a list of {n} strings (one per image)")
    if isinstance(target_captions, str) or not target_captions or any(
            not isinstance(c, str) for c in target_captions):
        raise ValueError("target_captions: expected a non-empty list of strings")
    if (labels is None) != (target is None):
        raise ValueError("labels/target: give both (poison non-target rows) or neither")
    candidates = None
    if labels is not None:
        y = int_labels(labels, n, "labels")
        t = check_target(target, y)
        candidates = torch.nonzero(y != t).flatten()
    index = choose_poison_rows(n, rate, candidates=candidates, seed=seed)
    out = x.clone()
    out[index] = _apply(trigger, x[index], seed).to(out.dtype)
    g = torch.Generator().manual_seed(int(seed) + 2)
    pick = torch.randint(0, len(target_captions), (index.numel(),), generator=g)
    new_caps = list(captions)
    for i, j in zip(index.tolist(), pick.tolist(), strict=True):
        new_caps[i] = target_captions[j]
    mask = torch.zeros(n, dtype=torch.bool)
    mask[index] = True
    return PoisonedPairs(out, new_caps, index, mask)
