"""DINO (Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021):
self-distillation with a momentum teacher, centering and sharpening, on multi-crop views.

The pieces follow the official ``main_dino.py`` (``DINOLoss``): the teacher sees the global crops,
the student every crop; for each teacher crop ``i`` and student crop ``v != i``::

    H(t_i, s_v) = - sum_k softmax((t_i - c) / tau_t)_k  log softmax(s_v / tau_s)_k

averaged over the pairs. The center is an EMA of the teacher's batch mean,
``c <- m c + (1 - m) mean_batch(t)`` (``m = center_momentum``), and ``tau_t`` warms up linearly from
``warmup_teacher_temp`` to ``teacher_temp`` (:func:`teacher_temperature`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum
from contrastkit.methods.view_contrastive import ViewContrastive


def teacher_temperature(step: int, warmup_steps: int, start: float = 0.04, end: float = 0.07) -> float:
    """``start + (end - start) * step / warmup_steps`` for ``step < warmup_steps``, then ``end``
    (DINO's ``np.linspace(warmup_teacher_temp, teacher_temp, warmup)``, per step)."""
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps: expected an integer >= 0, got {warmup_steps!r}")
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(f"{name}: expected a temperature > 0, got {value!r}")
    if step >= warmup_steps:
        return float(end)
    return start + (end - start) * max(step, 0) / warmup_steps


def dino_loss(student: list[Tensor], teacher: list[Tensor], center: Tensor, student_temp: float,
              teacher_temp: float) -> Tensor:
    """Mean cross-entropy over (teacher crop ``i``, student crop ``v != i``) pairs.

    Args:
        student: ``V`` tensors ``(N, K)`` of student logits (the first ``len(teacher)`` are the global crops).
        teacher: ``G`` tensors ``(N, K)`` of teacher logits (global crops; no gradient).
        center: ``(K,)``; student_temp, teacher_temp: > 0.
    """
    targets = [F.softmax((t.detach() - center) / teacher_temp, dim=-1) for t in teacher]
    log_probs = [F.log_softmax(s.float() / student_temp, dim=-1) for s in student]
    total, pairs = 0.0, 0
    for i, q in enumerate(targets):
        for v, logp in enumerate(log_probs):
            if v == i:
                continue
            total = total + (-(q * logp).sum(dim=-1)).mean()
            pairs += 1
    if pairs == 0:
        raise ValueError("student: expected at least one crop besides the teacher's")
    return total / pairs


@torch.no_grad()
def update_center(center: Tensor, teacher: list[Tensor], momentum: float) -> Tensor:
    """``momentum * center + (1 - momentum) * mean`` of the teacher logits of every global crop."""
    return center * momentum + torch.cat(teacher).mean(dim=0) * (1 - momentum)


class DINO(ViewContrastive):
    """DINO on the bundled images: ``2`` global crops (the augmentation at full size) and
    ``n_local_crops`` local crops (the augmentation, then a random ``local_size`` square crop; one offset
    per crop for the whole batch). The model's projector outputs the ``K`` prototype logits.

    Args:
        model: student encoder + head (:class:`EncoderWithHead`); the teacher is its EMA
            (``base_momentum``, BYOL's cosine schedule to 1 over ``max_steps``).
        augment, images, labels: as :class:`ViewContrastive`.
        n_local_crops, local_size: multi-crop settings (``local_size`` < the image side; default
            ``5/8`` of the side).
        student_temp, teacher_temp, warmup_teacher_temp, teacher_temp_warmup_steps: the temperatures.
        center_momentum: ``m`` of the center EMA.
    """

    def __init__(self, model: nn.Module | None = None, loss: Any = None, augment: Any = None,
                 images: Tensor | None = None, labels: Tensor | None = None, *, n_local_crops: int = 2,
                 local_size: int | None = None, student_temp: float = 0.1,
                 teacher_temp: float = 0.07, warmup_teacher_temp: float = 0.04, teacher_temp_warmup_steps: int = 0,
                 center_momentum: float = 0.9, base_momentum: float = 0.996, **kwargs: Any) -> None:
        if loss is not None:
            raise ValueError("loss: DINO's loss is built in (dino_loss); leave loss=None")
        super().__init__(model, nn.Identity(), augment, images, labels, **kwargs)
        if isinstance(n_local_crops, bool) or not isinstance(n_local_crops, int) or n_local_crops < 0:
            raise ValueError(f"n_local_crops: expected an integer >= 0, got {n_local_crops!r}")
        if n_local_crops and local_size is not None and (
                isinstance(local_size, bool) or not isinstance(local_size, int) or local_size < 1):
            raise ValueError(f"local_size: expected an integer >= 1, got {local_size!r}")
        if not 0 <= center_momentum <= 1:
            raise ValueError(f"center_momentum: expected a number in [0, 1], got {center_momentum!r}")
        teacher_temperature(0, teacher_temp_warmup_steps, warmup_teacher_temp, teacher_temp)  # validates
        if not 0 < student_temp < float("inf"):
            raise ValueError(f"student_temp: expected a temperature > 0, got {student_temp!r}")
        self.n_local_crops, self.local_size = n_local_crops, local_size
        self.student_temp, self.teacher_temp = float(student_temp), float(teacher_temp)
        self.warmup_teacher_temp, self.teacher_temp_warmup_steps = float(warmup_teacher_temp), teacher_temp_warmup_steps
        self.center_momentum, self.base_momentum = float(center_momentum), float(base_momentum)
        self._ema_step = -1
        if self.model is not None and self.images is not None:
            self._build_teacher(self.images[:2])

    def _build_teacher(self, sample: Tensor) -> None:
        """The EMA teacher and the ``(K,)`` center, sized from the head's output on ``sample``."""
        side = int(sample.shape[-1])
        if self.local_size is None:
            self.local_size = max(1, (side * 5) // 8)  # 10 of 16 px; DINO's 96 of 224 is smaller, our images tiny
        if self.n_local_crops and not self.local_size < side:
            raise ValueError(f"local_size: expected an integer in [1, {side}) (the image side), got {self.local_size}")
        with torch.no_grad():
            was = self.model.training
            self.model.eval()
            k = int(self.model(sample[:2])[1].shape[1])
            if self.n_local_crops:
                # multi-crop feeds the encoder smaller images: an encoder fixed to one input size cannot take them
                local = sample[:2, ..., : self.local_size, : self.local_size]
                try:
                    self.model(local)
                except RuntimeError as err:
                    self.model.train(was)
                    raise ValueError(
                        f"encoder: DINO's local crops are {self.local_size}x{self.local_size} but the encoder fails on "
                        f"them ({str(err).splitlines()[0]}); use a size-agnostic encoder (e.g. global pooling) "
                        "or n_local_crops=0") from None
            self.model.train(was)
        self.teacher = MomentumEncoder(self.model)
        self.register_buffer("center", torch.zeros(k))

    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """See :meth:`ViewContrastive.bind`; also builds the teacher and the center."""
        super().bind(images, labels, sample, loader)
        self._build_teacher(sample)

    def crops(self, x: Tensor, step: int) -> list[Tensor]:
        """Two global crops then the local crops (after :meth:`views`' reseeding, so runs replay)."""
        views = self.views(x, step)[:2]
        side = x.shape[-1]
        for _ in range(self.n_local_crops):
            top, left = (int(v) for v in torch.randint(0, side - self.local_size + 1, (2,)))
            views.append(self.augment(x)[..., top:top + self.local_size, left:left + self.local_size])
        return views

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        crops = self.crops(batch["images"], step)
        if step > 0 and step != self._ema_step:
            total = int(self.trainer.max_steps) if self._trainer is not None and self.trainer.max_steps > 0 else 0
            self.teacher.update(cosine_momentum(step, total, self.base_momentum) if total else self.base_momentum)
            self._ema_step = step
        student = list(self.model(torch.cat(crops[:2]))[1].chunk(2))
        student += [self.model(c)[1] for c in crops[2:]]
        with torch.no_grad():
            teacher = list(self.teacher(torch.cat(crops[:2]))[1].chunk(2))
        tau_t = teacher_temperature(step, self.teacher_temp_warmup_steps, self.warmup_teacher_temp, self.teacher_temp)
        loss = dino_loss(student, teacher, self.center, self.student_temp, tau_t)
        self.center.copy_(update_center(self.center, teacher, self.center_momentum))
        return {"loss": loss, "teacher_temp": torch.tensor(tau_t)}


__all__ = ["DINO", "dino_loss", "teacher_temperature", "update_center"]
