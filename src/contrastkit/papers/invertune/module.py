"""InverTune's third stage: critical layers and units under the inverted trigger, and activation tuning.

Wang et al., NDSS 2026; official ``Goodman-liyu/InverTune`` ``ActivationTuning.py``. Stages 1-2 (target
identification by a universal adversarial patch, trigger inversion) are shared with the backdoor audit:
:mod:`contrastkit.backdoor.inversion`.

With ``A_l(x)`` the output of candidate layer ``l`` and ``x~`` the clean images with the inverted trigger:

- impact ``I_l = ||mean_b A_l(x) - mean_b A_l(x~)||_2 / ||mean_b A_l(x)||_2`` (:func:`layer_impact`);
  the critical layers are the ``n_layers`` of largest impact;
- critical units ``M_l``: KMeans (k = 2) on ``|mean_b A_l(x) - mean_b A_l(x~)|`` (flattened), the cluster
  with the larger centre (:func:`critical_units`);
- ``L_tune = sum_l ||M_l (mean_b A_l(x) - mean_b A_l(x~))|| / ||M_l mean_b A_l(x)|| + w ||z(x) - z_0(x)||_F``
  with ``z`` the L2-normalised embeddings and ``z_0`` those of the frozen backdoored model
  (:func:`tuning_loss`, ``w = 0.5``), minimised on one clean batch (:func:`activation_tune`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit._validation import check_non_negative_float, check_positive_int
from contrastkit.backdoor._checks import check_images
from contrastkit.backdoor.inversion import apply_mask


def layer_impact(clean_act: Tensor, triggered_act: Tensor) -> float:
    """``||mean_b A(x) - mean_b A(x~)||_2 / ||mean_b A(x)||_2`` of one layer's ``(B, ...)`` activations
    (0 when the triggered activations equal the clean ones)."""
    if clean_act.shape != triggered_act.shape:
        raise ValueError(f"triggered_act: expected the shape of clean_act {tuple(clean_act.shape)}, "
                         f"got {tuple(triggered_act.shape)}")
    a, b = clean_act.detach().flatten(1).double().mean(0), triggered_act.detach().flatten(1).double().mean(0)
    return float((a - b).norm() / a.norm().clamp_min(1e-12))


def critical_units(shift: Tensor, seed: int = 0) -> Tensor:
    """Boolean ``(numel,)`` mask of a layer's critical units: KMeans (k = 2, sklearn) on the absolute mean
    shift ``|mean A(x) - mean A(x~)|`` (flattened), the cluster with the larger centre. A constant shift
    (no structure to split) keeps every unit."""
    from sklearn.cluster import KMeans

    v = shift.detach().abs().flatten().double().cpu().numpy().reshape(-1, 1)
    if v.shape[0] < 2 or float(v.max() - v.min()) == 0.0:
        return torch.ones(v.shape[0], dtype=torch.bool)
    km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(v)
    hi = int(km.cluster_centers_.ravel().argmax())
    return torch.from_numpy(km.labels_ == hi)


def tuning_loss(clean_acts: Sequence[Tensor], triggered_acts: Sequence[Tensor], units: Sequence[Tensor],
                z: Tensor, z0: Tensor, feature_weight: float = 0.5) -> Tensor:
    """``sum_l ||M_l (mean A_l(x) - mean A_l(x~))|| / ||M_l mean A_l(x)|| + w ||normalize(z) - normalize(z0)||_F``.

    ``clean_acts`` / ``triggered_acts``: one ``(B, ...)`` activation per critical layer; ``units``: the
    boolean ``(numel,)`` masks of :func:`critical_units`; ``z``, ``z0``: ``(B, d)`` embeddings of the clean
    batch by the tuned and the frozen model.
    """
    from contrastkit.functional import normalize

    if not len(clean_acts) == len(triggered_acts) == len(units):
        raise ValueError("units: expected one mask per critical layer (as many as clean_acts and triggered_acts)")
    w = check_non_negative_float(feature_weight, "feature_weight")
    total = w * (normalize(z.float()) - normalize(z0.float())).norm()
    for a, b, m in zip(clean_acts, triggered_acts, units, strict=True):
        ma, mb = a.float().flatten(1).mean(0)[m], b.float().flatten(1).mean(0)[m]
        total = total + (ma - mb).norm() / ma.norm().clamp_min(1e-12)
    return total


def _activations(model: nn.Module, layers: Sequence[nn.Module],
                 fn: Callable[[], Tensor]) -> tuple[Tensor, list[Tensor]]:
    acts: dict[int, Tensor] = {}

    def hook(i: int) -> Callable[..., None]:
        # clone: an in-place op after the layer (ReLU(inplace=True)) must not alter the recorded activation
        return lambda _m, _i, o: acts.__setitem__(i, o.clone())

    # by position in ``layers``, not by execution order (the critical layers are sorted by impact)
    hooks = [m.register_forward_hook(hook(i)) for i, m in enumerate(layers)]
    try:
        out = fn()
    finally:
        for h in hooks:
            h.remove()
    if len(acts) != len(layers):
        raise ValueError("candidates: every candidate layer must run in the encoder's forward pass")
    return out, [acts[i] for i in range(len(layers))]


def activation_tune(encoder: nn.Module, candidates: Sequence[nn.Module], clean: Tensor, mask: Tensor,
                    pattern: Tensor, *, n_layers: int = 3, steps: int = 200, lr: float = 1e-3,
                    weight_decay: float = 1e-4, feature_weight: float = 0.5, seed: int = 0
                    ) -> tuple[nn.Module, dict[str, Any]]:
    """Tune a copy of ``encoder`` (all parameters) on one clean batch so that the critical units of its
    critical layers respond to ``x~ = m delta + (1 - m) x`` as to ``x``.

    AdamW (``lr``, ``weight_decay``), cosine schedule to ``lr / 20``, gradient-norm clip 1, ``steps`` steps;
    the lowest-loss state is kept (as the official code). The copy runs in eval mode (batch-norm statistics
    frozen): with ``lr = 0`` the returned encoder equals the input one. ``candidates``: modules of
    ``encoder`` whose outputs are the candidate layers (InverTune: ResNet ``layer1..4``).

    Returns ``(tuned encoder, info)`` with ``impact`` per candidate, the chosen ``layers`` (indices), the
    number of critical ``units`` per chosen layer, the ``initial_loss`` and ``best_loss``.
    """
    x = check_images(clean, "clean")
    n_layers = check_positive_int(n_layers, "n_layers")
    steps = check_positive_int(steps, "steps")
    lr = check_non_negative_float(lr, "lr")
    names = {id(m): n for n, m in encoder.named_modules()}
    if not candidates or any(id(m) not in names for m in candidates):
        raise ValueError("candidates: expected a non-empty list of modules of encoder")
    torch.manual_seed(seed)
    was_training = encoder.training
    encoder.eval()
    triggered = apply_mask(x, mask, pattern).detach()
    with torch.no_grad():
        z0, ca = _activations(encoder, candidates, lambda: encoder(x))
        _, ta = _activations(encoder, candidates, lambda: encoder(triggered))
    encoder.train(was_training)
    impact = [layer_impact(a, b) for a, b in zip(ca, ta, strict=True)]
    chosen = sorted(range(len(candidates)), key=lambda i: (-impact[i], i))[:n_layers]
    units = [critical_units(ca[i].flatten(1).mean(0) - ta[i].flatten(1).mean(0), seed) for i in chosen]
    tuned = copy.deepcopy(encoder).eval()
    modules = dict(tuned.named_modules())
    layers = [modules[names[id(candidates[i])]] for i in chosen]
    opt = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 20)
    best, best_state, first = float("inf"), copy.deepcopy(tuned.state_dict()), None
    for _ in range(steps):
        z, a = _activations(tuned, layers, lambda: tuned(x))
        _, b = _activations(tuned, layers, lambda: tuned(triggered))
        loss = tuning_loss(a, b, units, z, z0, feature_weight)
        value = float(loss.detach())
        first = value if first is None else first
        if value < best:  # the state that produced this loss (before the step)
            best, best_state = value, copy.deepcopy(tuned.state_dict())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
        opt.step()
        sched.step()
    tuned.load_state_dict(best_state)
    return tuned.eval(), {"impact": impact, "layers": chosen, "units": [int(u.sum()) for u in units],
                          "initial_loss": first, "best_loss": best}


__all__ = ["activation_tune", "critical_units", "layer_impact", "tuning_loss"]
