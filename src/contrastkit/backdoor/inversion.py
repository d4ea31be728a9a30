"""Backdoor target identification and trigger inversion for an image encoder (InverTune, stages 1-2).

Wang et al., "InverTune: Removing Backdoors from Multimodal Contrastive Learning Models via Trigger
Inversion and Activation Tuning" (NDSS 2026); official code ``Goodman-liyu/InverTune`` (``TargetLabel.py``,
``models/inversion.py``, class ``BackdoorInversion``).

The model is seen through a *cosine head*: ``logits = <normalize(embed(x)), normalize(T_c)> / tau`` with
``T`` ``(K, d)`` one embedding per class — the zero-shot prompt embeddings of a CLIP-style model, or the
class prototypes (mean normalised embeddings of clean labelled images, :func:`class_prototypes`) of a plain
image encoder. Images are ``(B, C, H, W)`` in ``[0, 1]``.

1. :func:`universal_patch` + :func:`identify_target`: an *untargeted* universal adversarial patch (ascend
   the cross-entropy of the true labels) is pasted on every clean image; a backdoored model routes such a
   perturbation to its target, so the class whose predicted share grows most is the suspect.
2. :func:`invert_trigger`: a mask ``m`` and pattern ``delta`` (both ``(C, H, W)`` in ``[0, 1]``),
   ``x~ = m * delta + (1 - m) * x``, minimise

   ``l_nce CE(<z(x~), T>/tau, target) + l_emb ||z(x~) - mean z(x_t)|| + l_ssim (1 - SSIM(x~, x)) + l_mask ||m||_1``

   (:func:`inversion_loss`; defaults 5, 0.5, 1, 0.01 as in the official ``config/config.yaml``).

The cross-entropy over the class embeddings is :class:`contrastkit.losses.InfoNCE` called listwise (each
image against the ``K`` class embeddings, the positive at the target / true class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from contrastkit._validation import check_non_negative_float, check_positive_float, check_positive_int
from contrastkit.backdoor._checks import check_fraction, check_images, check_target, int_labels

Embed = Callable[[Tensor], Tensor]
#: CLIP's zero-shot temperature (``logit_scale`` 100 of a trained CLIP); the official inversion uses 0.07.
ZERO_SHOT_TEMPERATURE = 0.07


@contextmanager
def _eval_mode(embed: Embed) -> Iterator[None]:
    """Read a module in eval mode and hand it back in the mode it came in: in train mode the patched or
    masked images would update its BatchNorm running statistics (and dropout would add noise)."""
    was = embed.training if isinstance(embed, nn.Module) else None
    if isinstance(embed, nn.Module):
        embed.eval()
    try:
        yield
    finally:
        if isinstance(embed, nn.Module) and was:
            embed.train(True)


def _labels_in_range(y: Tensor, k: int, name: str = "labels") -> Tensor:
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
        raise ValueError(f"{name}: expected class ids in [0, {k}) (the rows of class_emb), got "
                         f"[{int(y.min())}, {int(y.max())}]")
    return y


def _class_embeddings(class_emb: object) -> Tensor:
    if not isinstance(class_emb, Tensor) or class_emb.dim() != 2 or class_emb.shape[0] < 2:
        shape = tuple(class_emb.shape) if isinstance(class_emb, Tensor) else type(class_emb).__name__
        raise ValueError(f"class_emb: expected a (K >= 2, d) tensor of class embeddings, got {shape}")
    if not bool(torch.isfinite(class_emb).all()):
        raise ValueError("class_emb: expected finite values")
    return class_emb.detach().float()


def cosine_logits(z: Tensor, class_emb: Tensor, temperature: float = ZERO_SHOT_TEMPERATURE) -> Tensor:
    """``(B, K)`` logits ``<normalize(z_i), normalize(T_k)> / temperature`` (scale-safe normalisation)."""
    from contrastkit.functional import normalize

    return normalize(z.float()) @ normalize(class_emb.float()).T / temperature


def class_ce(z: Tensor, class_emb: Tensor, classes: Tensor, temperature: float = ZERO_SHOT_TEMPERATURE) -> Tensor:
    """Mean cross-entropy of the cosine head at ``classes`` ``(B,)``: InfoNCE, listwise over the ``K`` class
    embeddings (cosine similarity, ``temperature``)."""
    from contrastkit.losses import InfoNCE

    group = class_emb.float().unsqueeze(0).expand(len(z), -1, -1)
    return InfoNCE(temperature)(z.float(), None, candidates=group, positive_index=classes)


@torch.no_grad()
def predict(embed: Embed, class_emb: Tensor, images: Tensor, batch_size: int = 512) -> Tensor:
    """``(B,)`` predicted classes of the cosine head (argmax; ties to the lower class id)."""
    t = _class_embeddings(class_emb)
    x = check_images(images)
    bs = check_positive_int(batch_size, "batch_size")
    with _eval_mode(embed):
        out = [cosine_logits(embed(x[i:i + bs]), t).argmax(1) for i in range(0, len(x), bs)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


@torch.no_grad()
def class_prototypes(embed: Embed, images: Tensor, labels: object, num_classes: int | None = None) -> Tensor:
    """``(K, d)`` class prototypes: the mean L2-normalised embedding of each class's clean images, a cosine
    head for an encoder without a text tower (nearest class mean). Every class in ``0..K-1`` must occur."""
    from contrastkit.functional import normalize

    x = check_images(images)
    y = int_labels(labels, x.shape[0], "labels")
    k = int(y.max()) + 1 if num_classes is None else check_positive_int(num_classes, "num_classes")
    with _eval_mode(embed):
        z = normalize(torch.cat([embed(x[i:i + 512]).float() for i in range(0, len(x), 512)]))
    missing = [c for c in range(k) if not bool((y == c).any())]
    if missing or k < 2:
        raise ValueError(f"labels: expected every class of 0..{k - 1} (K >= 2) among the clean images, "
                         f"missing {missing}")
    return torch.stack([z[y == c].mean(0) for c in range(k)])


def patch_box(height: int, width: int, size: int, location: str = "bottom-right",
              margin: int = 0) -> tuple[int, int]:
    """Top-left ``(row, col)`` of a ``size`` x ``size`` square at a corner, ``margin`` pixels from both edges
    (the official UAP sits at the bottom-right, 14 px in on 224 px images)."""
    corners = ("bottom-right", "bottom-left", "top-right", "top-left")
    if location not in corners:
        raise ValueError(f"location: expected one of {corners}, got {location!r}")
    for value, arg in ((size, "size"), (margin, "margin")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{arg}: expected an integer number of pixels, got {type(value).__name__}")
    if not size >= 1 or size + margin > min(height, width) or margin < 0:
        raise ValueError(f"size: expected a patch side in [1, {min(height, width) - max(margin, 0)}] with "
                         f"margin {margin} >= 0, got {size}")
    r = height - size - margin if location.startswith("bottom") else margin
    c = width - size - margin if location.endswith("right") else margin
    return r, c


def paste_patch(images: Tensor, patch: Tensor, box: tuple[int, int]) -> Tensor:
    """``images`` with ``patch`` ``(C, s, s)`` pasted with its top-left corner at ``box`` (out of place)."""
    x = check_images(images)
    if not isinstance(patch, Tensor) or patch.dim() != 3 or patch.shape[0] != x.shape[1] \
            or patch.shape[1] != patch.shape[2]:
        got = tuple(patch.shape) if isinstance(patch, Tensor) else type(patch).__name__
        raise ValueError(f"patch: expected a square ({x.shape[1]}, s, s) patch, got {got}")
    s = patch.shape[-1]
    if not (isinstance(box, tuple) and len(box) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                             for v in box)):
        raise TypeError(f"box: expected a (row, col) pair of integers, got {box!r}")
    r, c = box
    if not (0 <= r <= x.shape[-2] - s and 0 <= c <= x.shape[-1] - s):
        raise ValueError(f"box: a {s} x {s} patch at {box} does not fit a {x.shape[-2]} x {x.shape[-1]} image")
    out = images.clone()
    out[..., r:r + s, c:c + s] = patch
    return out


def universal_patch(embed: Embed, class_emb: Tensor, images: Tensor, labels: object, *, size: int,
                    location: str = "bottom-right", margin: int = 0, steps: int = 100, lr: float = 0.05,
                    batch_size: int = 256, seed: int = 0) -> tuple[Tensor, tuple[int, int]]:
    """An untargeted universal adversarial patch: signed-gradient ascent (PGD) on the mean cross-entropy
    of the *true* labels over clean images, the patch kept in ``[0, 1]``.

    InverTune loads a pre-computed UAP (``uap_gan_*.pt``); here it is optimised directly. Returns
    ``(patch (C, size, size), box)``; errors name ``images``, ``labels`` (ids in ``[0, K)``), ``size``,
    ``margin``, ``location``, ``steps``, ``lr`` or ``batch_size``. An ``nn.Module`` is read in eval mode.
    """
    x = check_images(images)
    y = int_labels(labels, x.shape[0], "labels")
    t = _class_embeddings(class_emb)
    _labels_in_range(y, t.shape[0])
    box = patch_box(x.shape[-2], x.shape[-1], size, location, margin)
    steps = check_positive_int(steps, "steps")
    lr = check_positive_float(lr, "lr")
    batch_size = check_positive_int(batch_size, "batch_size")
    g = torch.Generator().manual_seed(seed)
    patch = torch.rand(x.shape[1], size, size, generator=g).requires_grad_()
    with _eval_mode(embed):
        for _ in range(steps):
            idx = torch.randperm(len(x), generator=g)[:batch_size]
            loss = class_ce(embed(paste_patch(x[idx], patch, box)), t, y[idx])
            (grad,) = torch.autograd.grad(loss, patch)
            with torch.no_grad():
                patch += lr * grad.sign()
                patch.clamp_(0, 1)
    return patch.detach(), box


@dataclass
class TargetReport:
    """Predicted-class shares of clean images without and with the universal patch.

    ``target`` = the class with the largest absolute increase of its share (ties: lower id), ``top`` the
    classes by that increase, best first."""

    target: int
    clean_share: list[float]
    patched_share: list[float]
    top: list[int]

    @property
    def increase(self) -> list[float]:
        return [p - c for p, c in zip(self.patched_share, self.clean_share, strict=True)]

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"increase": self.increase}


def identify_target(clean_pred: object, patched_pred: object, num_classes: int, top: int = 5) -> TargetReport:
    """The suspected target from ``(N,)`` predictions on clean and patched copies of the same images: the
    class whose predicted share grows most (absolute increase, as read off ``TargetLabel.py``'s table)."""
    c = int_labels(clean_pred, None, "clean_pred")
    p = int_labels(patched_pred, c.shape[0], "patched_pred")
    k = check_positive_int(num_classes, "num_classes")
    top = check_positive_int(top, "top")
    if not c.numel():
        raise ValueError("clean_pred: expected at least one prediction")
    if int(max(c.max(), p.max())) >= k or int(min(c.min(), p.min())) < 0:
        raise ValueError(f"patched_pred: expected class ids in [0, {k}), got "
                         f"[{int(min(c.min(), p.min()))}, {int(max(c.max(), p.max()))}]")
    n = c.numel()
    clean, patched = torch.bincount(c, minlength=k), torch.bincount(p, minlength=k)
    inc = (patched - clean).tolist()  # integer counts: exact ties
    order = sorted(range(k), key=lambda i: (-inc[i], i))
    return TargetReport(order[0], (clean.double() / n).tolist(), (patched.double() / n).tolist(), order[:top])


def apply_mask(images: Tensor, mask: Tensor, pattern: Tensor) -> Tensor:
    """``x~ = m * delta + (1 - m) * x`` (``m``, ``delta`` ``(C, H, W)`` broadcast over the batch)."""
    return mask * pattern + (1 - mask) * images


@dataclass
class InversionWeights:
    """The weights of the four inversion terms (official defaults ``l_nce, l_emb, l_ssim, l_mask``)."""

    nce: float = 5.0
    emb: float = 0.5
    ssim: float = 1.0
    mask: float = 0.01

    def __post_init__(self) -> None:
        for name in ("nce", "emb", "ssim", "mask"):
            check_non_negative_float(getattr(self, name), f"weights.{name}")


def ssim_window(height: int, width: int) -> int:
    """The SSIM Gaussian window: 11 (the usual) capped to the largest odd size that fits the image."""
    w = min(11, height, width)
    return w if w % 2 else w - 1


def inversion_loss(embed: Embed, class_emb: Tensor, images: Tensor, target: int, target_emb: Tensor,
                   mask: Tensor, pattern: Tensor, weights: InversionWeights | None = None
                   ) -> tuple[Tensor, dict[str, float]]:
    """InverTune's inversion loss on one batch (``models/inversion.py``) and its four terms.

    ``target_emb`` ``(d,)``: the mean normalised embedding of target-class images (``x_t``). ``||m||_1`` is a
    sum over all ``C H W`` mask entries, as in the official code. Returns ``(loss, terms)``.
    """
    from kornia.metrics import ssim

    from contrastkit.functional import normalize

    w = weights or InversionWeights()
    xt = apply_mask(images, mask, pattern)
    z = embed(xt)
    nce = class_ce(z, class_emb, torch.full((len(images),), target, dtype=torch.long))
    emb = (normalize(z.float()) - target_emb).norm(dim=1).mean()
    sim = 1 - ssim(xt, images, ssim_window(*images.shape[-2:])).mean()
    l1 = mask.abs().sum()
    total = w.nce * nce + w.emb * emb + w.ssim * sim + w.mask * l1
    return total, {k: float(v.detach()) for k, v in (("nce", nce), ("emb", emb), ("ssim", sim), ("mask_l1", l1))}


@dataclass
class InvertedTrigger:
    """A mask and pattern ``(C, H, W)`` in ``[0, 1]`` for ``target``, with the last step's loss terms."""

    mask: Tensor
    pattern: Tensor
    target: int
    terms: dict[str, float]

    def __call__(self, images: Tensor) -> Tensor:
        return apply_mask(check_images(images), self.mask, self.pattern)

    @property
    def mask_fraction(self) -> float:
        """``||m||_1 / (C H W)``: the share of the image the mask replaces."""
        return float(self.mask.sum() / self.mask.numel())


def invert_trigger(embed: Embed, class_emb: Tensor, images: Tensor, target: int, target_images: Tensor, *,
                   steps: int = 300, lr: float = 0.05, batch_size: int = 64, init_mask: float = 0.1,
                   weights: InversionWeights | None = None, seed: int = 0) -> InvertedTrigger:
    """Invert a trigger for ``target``: optimise a full-resolution mask and pattern (Adam), both clipped to
    ``[0, 1]`` after every step as in the official code, over random batches of the clean ``images``
    (rows of the target class should be left out by the caller).

    ``target_images``: clean images of the target class (their mean embedding is the ``l_emb`` anchor).
    Errors name ``images``, ``target_images``, ``target``, ``class_emb``, ``steps``, ``lr``, ``batch_size`` or
    ``init_mask`` (in ``[0, 1]``). An ``nn.Module`` is read in eval mode and handed back in its own mode.
    """
    from contrastkit.functional import normalize

    x = check_images(images)
    xt = check_images(target_images, "target_images")
    t = _class_embeddings(class_emb)
    tgt = check_target(target)
    if not 0 <= tgt < t.shape[0]:
        raise ValueError(f"target: class {tgt} is not among the {t.shape[0]} classes of class_emb")
    if xt.shape[1:] != x.shape[1:] or not len(xt) or not len(x):
        raise ValueError(f"target_images: expected a non-empty batch of images shaped like images "
                         f"{tuple(x.shape[1:])}, got {tuple(xt.shape)}")
    steps = check_positive_int(steps, "steps")
    lr = check_positive_float(lr, "lr")
    batch_size = check_positive_int(batch_size, "batch_size")
    init = check_fraction(init_mask, "init_mask", closed_low=True)
    g = torch.Generator().manual_seed(seed)
    mask = torch.full(x.shape[1:], init).requires_grad_()
    pattern = torch.rand(x.shape[1:], generator=g).requires_grad_()
    opt = torch.optim.Adam([mask, pattern], lr=lr)
    terms: dict[str, float] = {}
    with _eval_mode(embed):
        with torch.no_grad():
            anchor = normalize(normalize(embed(xt).float()).mean(0, keepdim=True))
        for _ in range(steps):
            idx = torch.randperm(len(x), generator=g)[:batch_size]
            loss, terms = inversion_loss(embed, t, x[idx], tgt, anchor, mask, pattern, weights)
            # gradients of the mask and pattern only: the model's parameters are left untouched (no .grad)
            mask.grad, pattern.grad = torch.autograd.grad(loss, [mask, pattern])
            opt.step()
            with torch.no_grad():
                mask.clamp_(0, 1)
                pattern.clamp_(0, 1)
    return InvertedTrigger(mask.detach(), pattern.detach(), tgt, terms)


__all__ = [
    "ZERO_SHOT_TEMPERATURE",
    "InversionWeights",
    "InvertedTrigger",
    "TargetReport",
    "apply_mask",
    "class_ce",
    "class_prototypes",
    "cosine_logits",
    "identify_target",
    "invert_trigger",
    "inversion_loss",
    "paste_patch",
    "patch_box",
    "predict",
    "universal_patch",
]
