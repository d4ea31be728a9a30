"""COCONUT's teacher-student supervised contrastive term (Cappellazzo et al., ACL Findings 2024, "Continual
Contrastive Spoken Language Understanding"): negative-student, positive-teacher (NSPT).

A composition of the core's multi-positive InfoNCE row form (:func:`contrastkit.functional.forms.info_nce_rows`,
max-shifted log-sum-exp, denominator weights): anchors are the student embeddings of the rehearsal rows, the
candidates are the teacher embeddings of the rehearsal rows followed by the student embeddings of every row of
the batch, and two constant masks say which candidate is what:

- ``weights`` (positives): the teacher embeddings of rehearsal rows with the anchor's label;
- ``denominator_weights``: those same teacher positives and the student embeddings of rows with another
  label (the student's same-label rows and the teacher's other-label rows are not candidates).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from contrastkit._validation import check_bool, check_embeddings, check_labels, check_positive_float, check_same_shape
from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.similarity import normalize
from contrastkit.losses.base import ContrastiveLoss


class NSPT(ContrastiveLoss):
    """Negative-student positive-teacher supervised contrastive loss on rehearsal anchors::

        L_i = -(1/|P(i)|) sum_{p in P(i)} log  exp(s_i . t_p / tau)
              / ( sum_{p' in P(i)} exp(s_i . t_p' / tau) + sum_{n in N(i)} exp(s_i . s_n / tau) )

    for every rehearsal row ``i`` (``s`` student, ``t`` teacher embeddings, L2-normalised; ``P(i)`` the
    rehearsal rows with ``i``'s label, ``i`` itself included unless ``include_self=False``; ``N(i)`` every
    batch row with another label). The teacher is a frozen copy of the model after the previous task:
    no gradient reaches it (its embeddings are detached). With ``teacher = student`` and
    ``include_self=False`` this is SupCon (Khosla et al., NeurIPS 2020) restricted to the rehearsal anchors
    (tested).

    Call: ``loss(student (B, d), teacher (B, d), labels=(B,), rehearsal=(B,) bool)``; teacher rows of
    non-rehearsal samples are ignored. Returns the mean over the rehearsal anchors (``reduction="none"``: ``(B,)``,
    0 for the rows that are not rehearsal anchors; ``"sum"``: their sum).

    Raises:
        ValueError: shapes that disagree, no rehearsal row, a rehearsal anchor without a positive or without
            a negative.
    """

    citation: ClassVar[str] = ("Cappellazzo et al. 2024, ACL Findings, Continual Contrastive Spoken Language "
                               "Understanding (COCONUT), Eq. NSPT")
    _config_keys: ClassVar[tuple[str, ...]] = ("temperature", "include_self")

    def __init__(self, temperature: float = 0.1, *, include_self: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.temperature = check_positive_float(temperature, "temperature")
        self.include_self = check_bool(include_self, "include_self")

    def forward(self, student: Tensor, teacher: Tensor, *, labels: Tensor, rehearsal: Tensor) -> Tensor:  # type: ignore[override]
        check_embeddings(student, "student")
        check_embeddings(teacher, "teacher")
        check_same_shape(student, teacher, "student", "teacher")
        labels = check_labels(labels, student.shape[0])
        if not isinstance(rehearsal, Tensor) or rehearsal.dtype != torch.bool or rehearsal.shape != labels.shape:
            raise ValueError(f"rehearsal: expected a bool mask of shape ({student.shape[0]},)")
        rows = rehearsal.nonzero().flatten()
        if rows.numel() == 0:
            raise ValueError("rehearsal: no rehearsal row in the batch; NSPT's anchors are rehearsal samples")
        y = labels.to(student.device)
        yr = y[rows]
        same_teacher = (yr[:, None] == yr[None, :]).to(student.dtype)  # (R, R) teacher positives
        if not self.include_self:
            same_teacher.fill_diagonal_(0)
        other_student = (yr[:, None] != y[None, :]).to(student.dtype)  # (R, B) student negatives
        if (same_teacher.sum(1) == 0).any():
            raise ValueError("labels: a rehearsal anchor has no positive (no other rehearsal row with its label)")
        if (other_student.sum(1) == 0).any():
            raise ValueError("labels: a rehearsal anchor has no negative (every batch row shares its label)")
        dtype = torch.float32 if student.dtype in (torch.float16, torch.bfloat16) else student.dtype
        s_all = normalize(student.to(dtype), dim=-1)
        t_r = normalize(teacher[rows].detach().to(dtype), dim=-1)  # the teacher is frozen: no gradient
        s_r = s_all[rows]
        logits = torch.cat([s_r @ t_r.T, s_r @ s_all.T], dim=1) / self.temperature  # (R, R + B)
        positive = torch.cat([same_teacher, torch.zeros_like(other_student)], dim=1).to(dtype)
        candidates = torch.cat([same_teacher, other_student], dim=1).to(dtype)
        per_anchor, _ = info_nce_rows(logits, positive, torch.ones_like(positive, dtype=torch.bool),
                                      denominator_weight=candidates)
        per_row = torch.zeros(student.shape[0], dtype=per_anchor.dtype, device=per_anchor.device)
        return self.reduce(per_row.index_put((rows,), per_anchor), counted=rehearsal)


__all__ = ["NSPT"]
