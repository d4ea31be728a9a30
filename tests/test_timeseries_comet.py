"""COMET levels vs an independent transcription of the official DL4mHealth/COMET formulas."""

import math

import numpy as np
import pytest
import torch

from contrastkit.timeseries import comet as C
from contrastkit.timeseries.losses import instance_contrastive_loss, temporal_contrastive_loss


def official_id_loss(z1, z2, ids, tau=0.1):
    """Re-typed from the official id_contrastive_loss: upper-triangle same-id pairs normalised by
    row sums, lower-triangle pairs by column sums, each averaged over pairs, then averaged."""
    b = z1.shape[0]
    u1 = torch.nn.functional.normalize(z1, dim=1).permute(0, 2, 1).reshape(b, -1)
    u2 = torch.nn.functional.normalize(z2, dim=1).permute(0, 2, 1).reshape(b, -1)
    s = torch.exp((u1 @ u2.T) / (u1.norm(dim=1)[:, None] * u2.norm(dim=1)[None, :] * tau))
    same = ids[:, None] == ids[None, :]
    rows1, cols1 = np.where(np.triu(same.numpy(), 1))
    rows2, cols2 = np.where(np.tril(same.numpy(), -1))
    terms = []
    if len(rows1):
        terms.append(-torch.log(s[rows1, cols1] / s.sum(1)[rows1]).mean())
    if len(rows2):
        terms.append(-torch.log(s[rows2, cols2] / s.sum(0)[cols2]).mean())
    return sum(terms) / len(terms) if terms else torch.tensor(0.0)


def naive_labels_form(z1, z2, ids, tau=0.1):
    """Symmetric multi-positive InfoNCE over the cross-view matrix, by explicit loops."""
    b = z1.shape[0]
    u1, u2 = C.flatten_time_normalized(z1), C.flatten_time_normalized(z2)
    cos = torch.nn.functional.normalize(u1, dim=1) @ torch.nn.functional.normalize(u2, dim=1).T / tau
    total = []
    for mat in (cos, cos.T):
        per = []
        for i in range(b):
            pos = [j for j in range(b) if ids[j] == ids[i]]
            lse = torch.logsumexp(mat[i], 0)
            per.append(sum(lse - mat[i, j] for j in pos) / len(pos))
        total.append(torch.stack(per))
    return ((total[0] + total[1]) / 2).mean()


def test_notes_reference_value():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 8, 5), torch.randn(6, 8, 5)
    pid = torch.tensor([0, 0, 1, 1, 1, 2])
    value = C.id_contrastive_loss(z1, z2, pid, pairs="official")
    assert math.isclose(float(value), 2.073240, abs_tol=2e-6)
    torch.testing.assert_close(value, official_id_loss(z1, z2, pid))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_official_form_random_batches(seed):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(9, 7, 4, generator=g, dtype=torch.float64), torch.randn(9, 7, 4, generator=g,
                                                                                  dtype=torch.float64)
    ids = torch.randint(0, 3, (9,), generator=g)
    torch.testing.assert_close(C.id_contrastive_loss(z1, z2, ids, pairs="official"),
                               official_id_loss(z1, z2, ids))
    torch.testing.assert_close(C.id_contrastive_loss(z1, z2, ids), naive_labels_form(z1, z2, ids))


def test_distinct_ids_official_is_zero():
    z = torch.randn(4, 5, 3)
    assert C.id_contrastive_loss(z, z, torch.arange(4), pairs="official") == 0


def test_sample_and_observation_levels_are_ts2vec_without_final_term():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(4, 8, 3, generator=g), torch.randn(4, 8, 3, generator=g)
    out = C.COMETLoss({"sample": 1.0, "observation": 1.0})(None, (z1, z2))

    def hier(fn):
        a, b, total, d = z1, z2, 0.0, 0
        while a.shape[1] > 1:
            total, d = total + fn(a, b), d + 1
            a = torch.nn.functional.max_pool1d(a.transpose(1, 2), 2).transpose(1, 2)
            b = torch.nn.functional.max_pool1d(b.transpose(1, 2), 2).transpose(1, 2)
        return total / d

    torch.testing.assert_close(out.parts["sample"], hier(instance_contrastive_loss))
    torch.testing.assert_close(out.parts["observation"], hier(temporal_contrastive_loss))
    torch.testing.assert_close(out.loss, out.parts["sample"] + out.parts["observation"])


def test_total_is_weighted_sum_and_errors():
    z = torch.randn(6, 8, 4)
    ids = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = C.COMETLoss()
    out = loss((z, z + 0.1), (z, z - 0.1), trial_ids=ids, patient_ids=ids // 2)
    torch.testing.assert_close(out.loss, 0.25 * sum(out.parts.values()))
    assert set(out.parts) == set(C.LEVELS)
    with pytest.raises(ValueError, match="trial_ids"):
        loss((z, z), (z, z), patient_ids=ids)
    with pytest.raises(ValueError, match="weights"):
        C.COMETLoss({"subject": 1.0})


def test_hierarchy_and_split():
    x = torch.randn(8, 2, 100)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    h = C.build_hierarchy(x, y, trials_per_patient=2, window=40, stride=20, subject_effect=0.0)
    assert h.x.shape == (8 * 4, 2, 40)
    torch.testing.assert_close(h.x[1], x[0, :, 20:60])
    for p in h.patient.unique():
        assert h.label[h.patient == p].unique().numel() == 1
        assert h.trial[h.patient == p].unique().numel() == 2
    train, test = C.patient_split(h, 0.5, seed=0)
    assert set(train.tolist()).isdisjoint(test.tolist()) and len(train) + len(test) == 4
    batches = C.group_batches(h.patient, 8, generator=torch.Generator().manual_seed(0))
    assert all(h.patient[b].unique().numel() == 1 for b in batches)  # patients kept together
