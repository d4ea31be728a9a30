"""InverTune's three stages for a possibly backdoored image encoder, using only a small clean labelled set.

1. Target identification (``TargetLabel.py`` of the official code): an *untargeted* universal adversarial
   patch (maximising the cross-entropy of the true labels) is pasted on every clean image; a backdoored model
   routes such perturbations to its target, so the class whose prediction share grows most is the suspect.
2. Trigger inversion (``models/inversion.py``, ``BackdoorInversion``): a mask ``m`` and pattern ``delta`` with
   ``x~ = m * delta + (1 - m) * x`` minimise ``l_nce CE(<z(x~), T>/0.07, target) + l_emb ||z(x~) - z(x_t)||
   + l_ssim (1 - SSIM(x~, x)) + l_mask ||m||_1``.
3. Activation tuning (``ActivationTuning.py``): the layers whose mean activation moves most under the
   inverted trigger (relative L2 impact), their critical units (KMeans, k = 2, on the absolute mean shift;
   the cluster with the larger mean), and a few steps that pull the triggered activations of those units to
   the clean ones while a feature term keeps the clean embeddings near the original model's.

Images are ``(B, C, H, W)`` in ``[0, 1]``; ``embed`` maps images to (unnormalised) embeddings and
``class_text`` is ``(K, d)`` (the zero-shot class embeddings; a linear probe's weight rows also work).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.backdoor import check_images

Embed = Callable[[Tensor], Tensor]


def zero_shot_logits(embed: Embed, class_text: Tensor, images: Tensor, temperature: float = 0.07) -> Tensor:
    """``<normalize(embed(x)), normalize(T_c)> / temperature``: ``(B, K)`` zero-shot logits."""
    return F.normalize(embed(images), dim=1) @ F.normalize(class_text, dim=1).T / temperature


def paste_patch(images: Tensor, patch: Tensor) -> Tensor:
    """``images`` with ``patch`` (``(C, s, s)``) pasted at the bottom-right corner (the official placement)."""
    s = patch.shape[-1]
    out = images.clone()
    out[..., -s:, -s:] = patch
    return out


def universal_patch(embed: Embed, class_text: Tensor, images: Tensor, labels: Tensor, *, size: int,
                    steps: int = 100, lr: float = 0.05, seed: int = 0) -> Tensor:
    """An untargeted universal adversarial patch: ascend the mean CE of the true labels (signed-gradient PGD,
    pattern kept in ``[0, 1]``). Returns the ``(C, size, size)`` patch."""
    x = check_images(images)
    if not 1 <= size <= min(x.shape[-2:]):
        raise ValueError(f"size: expected a patch side in [1, {min(x.shape[-2:])}], got {size}")
    g = torch.Generator().manual_seed(seed)
    patch = torch.rand(x.shape[1], size, size, generator=g).requires_grad_()
    for _ in range(steps):
        loss = F.cross_entropy(zero_shot_logits(embed, class_text, paste_patch(x, patch)), labels)
        (grad,) = torch.autograd.grad(loss, patch)
        with torch.no_grad():
            patch += lr * grad.sign()
            patch.clamp_(0, 1)
    return patch.detach()


@dataclass
class TargetReport:
    """Prediction shares with and without the universal patch; ``target`` = largest absolute increase."""

    target: int
    clean_share: list[float]
    patched_share: list[float]
    top: list[int]

    @property
    def increase(self) -> list[float]:
        return [p - c for p, c in zip(self.patched_share, self.clean_share, strict=True)]


def identify_target(clean_pred: Tensor, patched_pred: Tensor, num_classes: int, top: int = 5) -> TargetReport:
    """The suspected target: the class whose predicted share grows most when the universal patch is applied
    (absolute increase; ties to the lower class id). ``top`` classes are listed by that increase."""
    if clean_pred.shape != patched_pred.shape or clean_pred.dim() != 1 or clean_pred.numel() == 0:
        raise ValueError(f"patched_pred: expected the shape of clean_pred (a non-empty (N,)), got "
                         f"{tuple(patched_pred.shape)} and {tuple(clean_pred.shape)}")
    n = clean_pred.numel()
    clean = torch.bincount(clean_pred, minlength=num_classes)[:num_classes].double() / n
    patched = torch.bincount(patched_pred, minlength=num_classes)[:num_classes].double() / n
    inc = patched - clean
    order = sorted(range(num_classes), key=lambda k: (-float(inc[k]), k))
    return TargetReport(order[0], clean.tolist(), patched.tolist(), order[:top])


def apply_mask(images: Tensor, mask: Tensor, pattern: Tensor) -> Tensor:
    """``x~ = m * delta + (1 - m) * x`` (``m`` and ``delta`` broadcast over the batch)."""
    return mask * pattern + (1 - mask) * images


@dataclass
class InversionWeights:
    """The four terms of the inversion loss (official defaults)."""

    nce: float = 5.0
    emb: float = 0.5
    ssim: float = 1.0
    mask: float = 0.01


def inversion_loss(embed: Embed, class_text: Tensor, images: Tensor, target: int, target_images: Tensor,
                   mask: Tensor, pattern: Tensor, w: InversionWeights) -> tuple[Tensor, dict[str, float]]:
    """The four-term loss of one batch and its parts."""
    from kornia.metrics import ssim

    xt = apply_mask(images, mask, pattern)
    z = F.normalize(embed(xt), dim=1)
    zt = F.normalize(embed(target_images), dim=1).mean(0, keepdim=True)
    nce = F.cross_entropy(z @ F.normalize(class_text, dim=1).T / 0.07,
                          torch.full((len(images),), target, dtype=torch.long))
    emb = (z - zt).norm(dim=1).mean()
    sim = 1 - ssim(xt, images, 5).mean()
    l1 = mask.abs().sum()
    total = w.nce * nce + w.emb * emb + w.ssim * sim + w.mask * l1
    return total, {"nce": float(nce), "emb": float(emb), "ssim": float(sim), "mask_l1": float(l1)}


def invert_trigger(embed: Embed, class_text: Tensor, images: Tensor, target: int, target_images: Tensor, *,
                   steps: int = 300, lr: float = 0.01, batch_size: int = 64,
                   weights: InversionWeights | None = None, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Optimise a full-resolution ``(C, H, W)`` mask in ``[0, 1]`` and pattern in ``[0, 1]`` (Adam; both clipped
    after each step, as in the official code). Returns ``(mask, pattern)``."""
    x = check_images(images)
    w = weights or InversionWeights()
    g = torch.Generator().manual_seed(seed)
    mask = torch.full(x.shape[1:], 0.1).requires_grad_()
    pattern = torch.rand(x.shape[1:], generator=g).requires_grad_()
    opt = torch.optim.Adam([mask, pattern], lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=g)
        loss, _ = inversion_loss(embed, class_text, x[idx], target, target_images, mask, pattern, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            mask.clamp_(0, 1)
            pattern.clamp_(0, 1)
    return mask.detach(), pattern.detach()


def layer_impact(clean_act: Tensor, triggered_act: Tensor) -> float:
    """``||mean_b A(x) - mean_b A(x~)||_2 / ||mean_b A(x)||_2`` of one layer's ``(B, ...)`` activations."""
    a, b = clean_act.flatten(1).mean(0), triggered_act.flatten(1).mean(0)
    return float((a - b).norm() / a.norm().clamp_min(1e-12))


def critical_units(shift: Tensor, seed: int = 0) -> Tensor:
    """Boolean mask of the critical units of a layer: KMeans (k = 2) on ``|mean shift|`` (flattened), the
    cluster with the larger mean."""
    from sklearn.cluster import KMeans

    v = shift.detach().abs().flatten().double().numpy().reshape(-1, 1)
    if v.shape[0] < 2 or float(v.max() - v.min()) == 0.0:
        return torch.ones(shift.numel(), dtype=torch.bool)
    km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(v)
    hi = int(km.cluster_centers_.ravel().argmax())
    return torch.from_numpy(km.labels_ == hi)


def _activations(model: nn.Module, layers: Sequence[nn.Module],
                 fn: Callable[[], Tensor]) -> tuple[Tensor, list[Tensor]]:
    acts: list[Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: acts.append(o)) for m in layers]
    try:
        out = fn()
    finally:
        for h in hooks:
            h.remove()
    return out, acts


def tuning_loss(clean_acts: Sequence[Tensor], triggered_acts: Sequence[Tensor], units: Sequence[Tensor],
                z: Tensor, z0: Tensor, feature_weight: float = 0.5) -> Tensor:
    """``sum_l ||M_l (mean A_l(x) - mean A_l(x~))|| / ||M_l mean A_l(x)|| + w ||z - z0||_F``."""
    total = feature_weight * (F.normalize(z, dim=1) - F.normalize(z0, dim=1)).norm()
    for a, b, m in zip(clean_acts, triggered_acts, units, strict=True):
        ma, mb = a.flatten(1).mean(0)[m], b.flatten(1).mean(0)[m]
        total = total + (ma - mb).norm() / ma.norm().clamp_min(1e-12)
    return total


def activation_tune(encoder: nn.Module, candidates: Sequence[nn.Module], clean: Tensor, mask: Tensor,
                    pattern: Tensor, *, n_layers: int = 3, steps: int = 200, lr: float = 1e-3,
                    feature_weight: float = 0.5, seed: int = 0) -> tuple[nn.Module, dict[str, object]]:
    """Tune a copy of ``encoder`` (all parameters; AdamW, cosine schedule, grad-clip 1) on one clean batch
    so that its critical units ignore the inverted trigger; keeps the lowest-loss state. ``candidates`` are
    modules of ``encoder`` whose outputs are the candidate layers. Returns ``(tuned encoder, info)``."""
    by_id = {id(m): n for n, m in encoder.named_modules()}
    if any(id(m) not in by_id for m in candidates):
        raise ValueError("candidates: expected modules of encoder")
    triggered = apply_mask(clean, mask, pattern)
    with torch.no_grad():
        _, ca = _activations(encoder, candidates, lambda: encoder(clean))
        _, ta = _activations(encoder, candidates, lambda: encoder(triggered))
    impact = [layer_impact(a, b) for a, b in zip(ca, ta, strict=True)]
    chosen = sorted(range(len(candidates)), key=lambda i: -impact[i])[:n_layers]
    units = [critical_units(ca[i].flatten(1).mean(0) - ta[i].flatten(1).mean(0), seed) for i in chosen]
    frozen = copy.deepcopy(encoder).eval()
    tuned = copy.deepcopy(encoder).train()
    modules = dict(tuned.named_modules())
    layers = [modules[by_id[id(candidates[i])]] for i in chosen]
    with torch.no_grad():
        z0 = frozen(clean)
    opt = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1), eta_min=lr / 20)
    best, best_state = float("inf"), copy.deepcopy(tuned.state_dict())
    for _ in range(steps):
        z, a = _activations(tuned, layers, lambda: tuned(clean))
        _, b = _activations(tuned, layers, lambda: tuned(triggered))
        loss = tuning_loss(a, b, units, z, z0, feature_weight)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(tuned.parameters(), 1.0)
        opt.step()
        sched.step()
        if float(loss) < best:
            best, best_state = float(loss), copy.deepcopy(tuned.state_dict())
    tuned.load_state_dict(best_state)
    return tuned.eval(), {"impact": impact, "layers": chosen, "units": [int(u.sum()) for u in units],
                          "best_loss": best}
