"""Backdoor triggers as objects: ``trigger(images, generator=None) -> triggered images``.

Every trigger takes a float batch ``(B, C, H, W)`` with values in ``[0, 1]`` and returns a batch
of the same shape, dtype and device, again in ``[0, 1]``. Randomness (a patch's random location)
comes from ``generator`` (a ``torch.Generator``, reproducible) or the global RNG; fixed patterns
(blend noise, additive noise, the warping field) are drawn once from the trigger's own ``seed``
so that the same trigger object is the same trigger at poisoning and at test time.

Sources: BadNets patch (Gu et al., 2017; the SSL form of Saha et al., AAAI 2022), Blended
(Chen et al., 2017), CTRL-like additive noise (Li et al., ICCV 2023), WaNet warping
(Nguyen & Tran, ICLR 2021, official ``VinAIResearch/Warping-based_Backdoor_Attack-release``
``train.py``: ``k=4``, ``s=0.5``), bounded learned generators (BLTO, Sun et al., ICLR 2024).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_positive_int
from contrastkit.backdoor._checks import check_budget, check_fraction, check_images

CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left", "center", "random")


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


class Trigger(nn.Module):
    """Base class: checks the input, applies :meth:`apply`, keeps the result in ``[0, 1]``."""

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = check_images(images)
        return self.apply(x, generator).clamp(0.0, 1.0)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:  # pragma: no cover
        raise NotImplementedError


def _pattern_tensor(pattern: object, name: str) -> Tensor:
    if not isinstance(pattern, Tensor) or not pattern.dtype.is_floating_point or pattern.dim() not in (2, 3):
        raise ValueError(f"{name}: expected a float (h, w) or (C, h, w) tensor with values in [0, 1]")
    if pattern.numel() and (float(pattern.min()) < 0 or float(pattern.max()) > 1):
        raise ValueError(f"{name}: expected values in [0, 1], got range "
                         f"[{float(pattern.min()):.4g}, {float(pattern.max()):.4g}]")
    return pattern if pattern.dim() == 3 else pattern[None]


def _match_channels(pattern: Tensor, channels: int, name: str) -> Tensor:
    if pattern.shape[0] not in (1, channels):
        raise ValueError(f"{name}: expected 1 or {channels} channels (the images' C), got {pattern.shape[0]}")
    return pattern.expand(channels, *pattern.shape[1:])


class PatchTrigger(Trigger):
    """Paste an ``h x w`` patch (BadNets; SSL-Backdoor of Saha et al., AAAI 2022; CleanCLIP's BadNet).

    ``x'[b, :, r_b:r_b+h, c_b:c_b+w] = pattern``; every other pixel is unchanged. The top-left
    corner ``(r_b, c_b)`` is fixed (a named corner, ``"center"`` or explicit ``(row, col)``) or,
    with ``location="random"``, drawn per image uniformly from ``[0, H-h] x [0, W-w]``, so the
    patch lies inside the image for every draw.

    Args:
        size: patch side ``s`` or ``(h, w)`` in pixels, each ``>= 1``.
        location: one of :data:`CORNERS` or an explicit ``(row, col)`` top-left corner.
        pattern: ``"white"`` (1), ``"black"`` (0), ``"checkerboard"`` (1 at even ``i+j``, else 0),
            ``"random"`` (U(0, 1) drawn once from ``seed``) or a float ``(h, w)``/``(C, h, w)``
            tensor in ``[0, 1]``.
        seed: seed of the ``"random"`` pattern.

    Raises:
        ValueError: at call time when the patch is larger than the image (``size``) or an explicit
            location puts it outside (``location``).
    """

    def __init__(self, size: int | Sequence[int] = 3, location: str | Sequence[int] = "bottom-right",
                 pattern: str | Tensor = "white", seed: int = 0) -> None:
        super().__init__()
        if isinstance(size, int) and not isinstance(size, bool):
            size = (size, size)
        if not isinstance(size, Sequence) or len(size) != 2:
            raise ValueError(f"size: expected an int or an (h, w) pair, got {size!r}")
        self.size = (check_positive_int(size[0], "size"), check_positive_int(size[1], "size"))
        if isinstance(location, str):
            if location not in CORNERS:
                raise ValueError(f"location: expected one of {CORNERS} or a (row, col) pair, got {location!r}")
        elif not (isinstance(location, Sequence) and len(location) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in location)):
            raise ValueError(f"location: expected one of {CORNERS} or a (row, col) pair of ints >= 0, "
                             f"got {location!r}")
        self.location = location if isinstance(location, str) else (int(location[0]), int(location[1]))
        h, w = self.size
        if isinstance(pattern, str):
            if pattern == "white":
                pat = torch.ones(1, h, w)
            elif pattern == "black":
                pat = torch.zeros(1, h, w)
            elif pattern == "checkerboard":
                pat = ((torch.arange(h)[:, None] + torch.arange(w)[None]) % 2 == 0).float()[None]
            elif pattern == "random":
                pat = torch.rand(1, h, w, generator=_seeded(seed))
            else:
                raise ValueError("pattern: expected 'white', 'black', 'checkerboard', 'random' or a tensor, "
                                 f"got {pattern!r}")
        else:
            pat = _pattern_tensor(pattern, "pattern")
            if tuple(pat.shape[1:]) != self.size:
                raise ValueError(f"pattern: expected spatial shape {self.size} (the patch size), "
                                 f"got {tuple(pat.shape[1:])}")
        self.register_buffer("pattern", pat.float(), persistent=False)

    def _check_fits(self, H: int, W: int) -> None:
        h, w = self.size
        if h > H or w > W:
            raise ValueError(f"size: the {h}x{w} patch is larger than the {H}x{W} image")
        if isinstance(self.location, tuple):
            r, c = self.location
            if r + h > H or c + w > W:
                raise ValueError(f"location: a {h}x{w} patch at (row {r}, col {c}) leaves the {H}x{W} image")

    def locations(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Top-left corners ``(B, 2)`` int64 (row, col) the patch takes on ``images``."""
        B, _, H, W = check_images(images).shape
        self._check_fits(H, W)
        h, w = self.size
        loc = self.location
        if loc == "random":
            rows = torch.randint(0, H - h + 1, (B,), generator=generator)
            cols = torch.randint(0, W - w + 1, (B,), generator=generator)
            return torch.stack([rows, cols], 1)
        if isinstance(loc, tuple):
            r, c = loc
        else:
            r = {"top": 0, "bottom": H - h}.get(loc.split("-")[0], (H - h) // 2)
            c = {"left": 0, "right": W - w}.get(loc.split("-")[-1], (W - w) // 2)
        return torch.tensor([[r, c]]).expand(B, 2).clone()

    def mask(self, images: Tensor, corners: Tensor) -> Tensor:
        """Boolean ``(B, 1, H, W)``: the pixels the patch covers at ``corners`` ``(B, 2)``."""
        _, _, H, W = images.shape
        h, w = self.size
        rows = torch.arange(H, device=images.device)[None] - corners[:, :1].to(images.device)
        cols = torch.arange(W, device=images.device)[None] - corners[:, 1:].to(images.device)
        inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
        return inside[:, None]

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        corners = self.locations(images, generator).to(images.device)
        B, C, H, W = images.shape
        h, w = self.size
        pat = _match_channels(self.pattern.to(device=images.device, dtype=images.dtype), C, "pattern")
        ri = (torch.arange(H, device=images.device)[None] - corners[:, :1]).clamp(0, h - 1)  # (B, H)
        ci = (torch.arange(W, device=images.device)[None] - corners[:, 1:]).clamp(0, w - 1)  # (B, W)
        canvas = pat[:, ri[:, :, None], ci[:, None, :]].permute(1, 0, 2, 3)  # (B, C, H, W)
        return torch.where(self.mask(images, corners), canvas, images)


def _full_pattern(pattern: Tensor | None, images: Tensor, draw: str, seed: int, name: str) -> Tensor:
    """The image-sized fixed pattern: the given one (checked) or one drawn from ``seed``."""
    _, C, H, W = images.shape
    if pattern is None:
        g = _seeded(seed)
        pat = torch.rand(1, H, W, generator=g) if draw == "uniform01" else (
            torch.randint(0, 2, (1, H, W), generator=g).float() * 2 - 1)
    else:
        pat = pattern
        if tuple(pat.shape[1:]) != (H, W):
            raise ValueError(f"{name}: expected spatial shape {(H, W)} (the images'), got {tuple(pat.shape[1:])}")
    return _match_channels(pat, C, name).to(device=images.device, dtype=images.dtype)


class BlendTrigger(Trigger):
    """Blended trigger (Chen et al., 2017; CleanCLIP's ``blended``): ``x' = (1 - a) x + a p``.

    Args:
        pattern: a float ``(H, W)``/``(C, H, W)`` tensor in ``[0, 1]`` the size of the images, or
            ``None`` for U(0, 1) noise drawn once from ``seed`` at the images' size (CleanCLIP:
            ``0.8 x + 0.2 U(0, 1)``).
        alpha: blend weight ``a`` in ``(0, 1]`` (default 0.2).
        seed: seed of the noise pattern.
    """

    def __init__(self, pattern: Tensor | None = None, alpha: float = 0.2, seed: int = 0) -> None:
        super().__init__()
        self.alpha = check_fraction(alpha, "alpha")
        self.seed = int(seed)
        self.pattern = None if pattern is None else _pattern_tensor(pattern, "pattern")

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        p = _full_pattern(self.pattern, images, "uniform01", self.seed, "pattern")
        return (1 - self.alpha) * images + self.alpha * p


class NoiseTrigger(Trigger):
    """Fixed additive perturbation inside an L-infinity budget (CTRL-like; Li et al., ICCV 2023).

    ``x' = clip(x + eps * p, 0, 1)`` with one input-independent pattern ``p`` in ``[-1, 1]``:
    random signs drawn once from ``seed`` (every pixel uses the whole budget) or a given tensor.
    CTRL itself places its pattern in the frequency domain (DCT of the chroma channels); this
    spatial form keeps only its "small, fixed, additive" character, the baseline BLTO compares with.

    Args:
        epsilon: L-infinity budget in ``(0, 1]`` (e.g. ``16 / 255``).
        pattern: optional float ``(H, W)``/``(C, H, W)`` tensor in ``[-1, 1]``.
        seed: seed of the sign pattern.
    """

    def __init__(self, epsilon: float = 8 / 255, pattern: Tensor | None = None, seed: int = 0) -> None:
        super().__init__()
        self.epsilon = check_budget(epsilon)
        self.seed = int(seed)
        if pattern is not None:
            if not isinstance(pattern, Tensor) or not pattern.dtype.is_floating_point or pattern.dim() not in (2, 3):
                raise ValueError("pattern: expected a float (H, W) or (C, H, W) tensor with values in [-1, 1]")
            if pattern.numel() and float(pattern.abs().max()) > 1:
                raise ValueError("pattern: expected values in [-1, 1]")
            pattern = pattern if pattern.dim() == 3 else pattern[None]
        self.pattern = pattern

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        return images + self.epsilon * _full_pattern(self.pattern, images, "sign", self.seed, "pattern")


class WarpTrigger(Trigger):
    """WaNet warping trigger (Nguyen & Tran, ICLR 2021): an imperceptible fixed elastic warp.

    A ``k x k`` field ``u ~ U(-1, 1)^(2,k,k)``, normalised by its mean absolute value, is upsampled
    (bicubic, ``align_corners=True``) to ``H x W``; the sampling grid is
    ``clamp(identity + s * u / size, -1, 1)`` (``size`` = ``W`` for x, ``H`` for y; the official
    code divides both by the height of its square images) and ``x' = grid_sample(x, grid)``
    (bilinear, ``align_corners=True``), a convex combination of input pixels, so it stays in range.

    Args:
        k: control-grid size, ``2 <= k <= min(H, W)`` (default 4).
        strength: warping strength ``s > 0`` (default 0.5).
        seed: seed of the field.
    """

    def __init__(self, k: int = 4, strength: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        self.k = check_positive_int(k, "k")
        if self.k < 2:
            raise ValueError(f"k: expected an integer >= 2, got {k}")
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not strength > 0:
            raise ValueError(f"strength: expected a number > 0, got {strength!r}")
        self.strength = float(strength)
        self.seed = int(seed)

    def grid(self, H: int, W: int) -> Tensor:
        """The ``(1, H, W, 2)`` sampling grid for ``H x W`` images."""
        if self.k > min(H, W):
            raise ValueError(f"k: the {self.k}x{self.k} control grid is larger than the {H}x{W} image")
        ins = torch.rand(1, 2, self.k, self.k, generator=_seeded(self.seed)) * 2 - 1
        ins = ins / ins.abs().mean()
        noise = F.interpolate(ins, size=(H, W), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
        identity = torch.stack((xs, ys), -1)[None]
        scale = torch.tensor([W, H], dtype=torch.float32)
        return (identity + self.strength * noise / scale).clamp(-1, 1)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        B, _, H, W = images.shape
        grid = self.grid(H, W).to(device=images.device, dtype=images.dtype).expand(B, H, W, 2)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


class LearnedTrigger(Trigger):
    """A trainable trigger generator inside an L-infinity budget (BLTO, Sun et al., ICLR 2024).

    ``x' = clip(x + eps * tanh(G(x)), 0, 1)``, so ``|x' - x| <= eps`` everywhere and gradients
    reach ``G``'s parameters (``tanh`` keeps the bound without projection).

    Args:
        generator: an ``nn.Module`` mapping ``(B, C, H, W)`` to the same shape (unbounded output).
        epsilon: L-infinity budget in ``(0, 1]``.
    """

    def __init__(self, generator: nn.Module, epsilon: float = 8 / 255) -> None:
        super().__init__()
        if not isinstance(generator, nn.Module):
            raise TypeError(f"generator: expected an nn.Module, got {type(generator).__name__}")
        self.generator = generator
        self.epsilon = check_budget(epsilon)

    def perturbation(self, images: Tensor) -> Tensor:
        """``eps * tanh(G(x))`` before clipping, ``(B, C, H, W)``."""
        out = self.generator(images)
        if not isinstance(out, Tensor) or out.shape != images.shape:
            raise ValueError(f"generator: expected an output of the input's shape {tuple(images.shape)}, "
                             f"got {tuple(getattr(out, 'shape', ()))}")
        return self.epsilon * torch.tanh(out)

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        return images + self.perturbation(images)


class ConvTriggerGenerator(nn.Module):
    """A small fully convolutional generator for :class:`LearnedTrigger` (two 3x3 conv layers).

    ``(B, C, H, W) -> (B, C, H, W)``; any image size. ``hidden`` channels in the middle.
    """

    def __init__(self, channels: int = 1, hidden: int = 16) -> None:
        super().__init__()
        channels = check_positive_int(channels, "channels")
        hidden = check_positive_int(hidden, "hidden")
        self.net = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
