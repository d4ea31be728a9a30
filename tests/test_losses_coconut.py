"""NSPT (COCONUT's teacher-student SupCon) against a naive loop and against SupCon when teacher = student."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCE
from contrastkit.losses.coconut import NSPT

B, D, TAU = 10, 5, 0.3
LABELS = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2, 0])
REHEARSAL = torch.tensor([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=torch.bool)


def _naive(s, t, labels, rehearsal, include_self=True):
    sn, tn = F.normalize(s, dim=1), F.normalize(t, dim=1)
    rows = rehearsal.nonzero().flatten().tolist()
    out = []
    for i in rows:
        pos = [p for p in rows if labels[p] == labels[i] and (include_self or p != i)]
        neg = [n for n in range(len(labels)) if labels[n] != labels[i]]
        den = sum(torch.exp(sn[i] @ tn[p] / TAU) for p in pos) + sum(torch.exp(sn[i] @ sn[n] / TAU) for n in neg)
        out.append(-sum(torch.log(torch.exp(sn[i] @ tn[p] / TAU) / den) for p in pos) / len(pos))
    return torch.stack(out)


@pytest.mark.parametrize("include_self", [True, False])
def test_nspt_equals_the_naive_loop(include_self):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(B, D, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(B, D, generator=g, dtype=torch.float64)
    labels = LABELS if include_self else torch.tensor([0, 1, 0, 1, 1, 2, 0, 1, 2, 0])
    ours = NSPT(TAU, include_self=include_self, reduction="none")(s, t, labels=labels, rehearsal=REHEARSAL)
    assert ours.shape == (B,) and not ours[~REHEARSAL].any()
    ours = ours[REHEARSAL]
    ref = _naive(s, t, labels, REHEARSAL, include_self)
    torch.testing.assert_close(ours, ref)
    (g1,) = torch.autograd.grad(ours.sum(), s)
    (g2,) = torch.autograd.grad(_naive(s, t, labels, REHEARSAL, include_self).sum(), s)
    torch.testing.assert_close(g1, g2)


def test_teacher_equal_to_student_is_supcon_on_rehearsal_anchors():
    z = torch.randn(8, D, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    everyone = torch.ones(8, dtype=torch.bool)
    nspt = NSPT(TAU, include_self=False)(z, z, labels=y, rehearsal=everyone)
    supcon = InfoNCE(TAU)(z, labels=y)  # Khosla et al.'s L_out over one view
    torch.testing.assert_close(nspt, supcon)


def test_no_gradient_reaches_the_teacher_and_only_rehearsal_rows_anchor():
    s = torch.randn(B, D, requires_grad=True)
    t = torch.randn(B, D, requires_grad=True)
    loss = NSPT(TAU, reduction="none")(s, t, labels=LABELS, rehearsal=REHEARSAL)
    assert loss.shape == (B,)
    loss.sum().backward()
    assert t.grad is None
    # a non-rehearsal row's teacher embedding is never a candidate
    t2 = t.detach().clone()
    t2[~REHEARSAL] = torch.randn(int((~REHEARSAL).sum()), D)
    torch.testing.assert_close(NSPT(TAU)(s, t2, labels=LABELS, rehearsal=REHEARSAL), loss.sum() / REHEARSAL.sum())


def test_bad_input_is_named():
    s = torch.randn(4, D)
    with pytest.raises(ValueError, match=r"^rehearsal: no rehearsal row"):
        NSPT()(s, s, labels=torch.tensor([0, 1, 0, 1]), rehearsal=torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^rehearsal: expected a bool mask"):
        NSPT()(s, s, labels=torch.tensor([0, 1, 0, 1]), rehearsal=torch.ones(4))
    with pytest.raises(ValueError, match=r"^labels: a rehearsal anchor has no negative"):
        NSPT()(s, s, labels=torch.zeros(4, dtype=torch.long), rehearsal=torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^labels: a rehearsal anchor has no positive"):
        NSPT(include_self=False)(s, s, labels=torch.tensor([0, 1, 2, 3]), rehearsal=torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^temperature"):
        NSPT(0.0)
