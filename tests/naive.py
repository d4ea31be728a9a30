"""Independent naive-loop references for the loss tests (plain Python loops over pairs, float64)."""

from __future__ import annotations

import math

import torch


def _cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (u.norm() * v.norm())


def supcon_loop(anchors, candidates, anchor_ids, candidate_ids, anchor_self, tau,
                positives_in_denominator=True, pos_scale=None):
    """Per-anchor multi-positive InfoNCE written pair by pair."""
    out = []
    for i in range(anchors.shape[0]):
        pos, den = [], []
        for j in range(candidates.shape[0]):
            if anchor_self is not None and anchor_self[i] == j:
                continue
            s = _cos(anchors[i], candidates[j]) / tau
            is_pos = int(anchor_ids[i]) == int(candidate_ids[j])
            if is_pos:
                pos.append(s)
            if positives_in_denominator or not is_pos:
                den.append(s)
        m = max(float(d.detach()) for d in den)
        lse = m + torch.log(sum(torch.exp(d - m) for d in den))
        w = 1.0 if pos_scale is None else pos_scale[i]
        out.append(lse - w * sum(pos) / len(pos))
    return torch.stack(out)


def ntxent_loop(z1, z2, tau, positives_in_denominator=True):
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    ids = list(range(n)) * 2
    rows = supcon_loop(z, z, ids, ids, list(range(2 * n)), tau, positives_in_denominator)
    return rows.mean()


def clip_loop(a, b, tau):
    n = a.shape[0]
    ab = supcon_loop(a, b, list(range(n)), list(range(n)), None, tau)
    ba = supcon_loop(b, a, list(range(n)), list(range(n)), None, tau)
    return (ab.mean() + ba.mean()) / 2


def dclw_weights(z1, z2, sigma):
    n = z1.shape[0]
    e = [math.exp(float(_cos(z1[i], z2[i])) / sigma) for i in range(n)]
    mean = sum(e) / n
    return [2 - x / mean for x in e]


def candidate_rows_loop(anchors, candidate_sets, tau, positives_in_denominator=True, pos_scale=None,
                        similarity="cosine"):
    """Per-anchor InfoNCE over an explicit candidate list, written term by term.

    ``candidate_sets[i]`` is a list of ``(vector, is_positive, q)``: anchor ``i``'s candidates (own
    row already left out), whether each is a positive and its denominator weight ``q >= 0``::

        L_i = -w_i mean_{p positive} l_ip + log sum_{j in D(i), q_ij > 0} q_ij exp(l_ij)
    """
    out = []
    for i, cands in enumerate(candidate_sets):
        pos, den = [], []
        for vec, is_pos, q in cands:
            s = (_cos(anchors[i], vec) if similarity == "cosine" else anchors[i] @ vec) / tau
            if is_pos:
                pos.append(s)
            if (positives_in_denominator or not is_pos) and float(q) > 0:
                den.append(s + math.log(float(q)))
        m = max(float(d.detach()) for d in den)
        lse = m + torch.log(sum(torch.exp(d - m) for d in den))
        w = 1.0 if pos_scale is None else pos_scale[i]
        out.append(lse - w * sum(pos) / len(pos))
    return torch.stack(out)
