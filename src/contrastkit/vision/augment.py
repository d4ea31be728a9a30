"""Batched image augmentations: per-sample random parameters, one tensor program per batch.

Each augmentation is an ``nn.Module`` whose ``forward(x, generator=None)`` takes a float batch
``(B, C, H, W)`` and draws independent parameters for every sample, either from ``generator``
(a ``torch.Generator``, reproducible) or from the global RNG. The work is split in two so that
tests and callers can inspect or fix the randomness: ``sample_params(x, generator)`` returns a
dict of per-sample tensors and ``apply(x, params)`` is deterministic. No Python loop runs over
the batch; geometric transforms go through one ``affine_grid`` / ``grid_sample`` call.

Two independent draws of :class:`SimCLRAugment` give the two views of SimCLR (Chen et al.,
ICML 2020), whose study of augmentations motivates the presets (crop + flip + colour, here
intensity, for natural images; shift + intensity + noise for the digit canvases, see docs/data.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Params = dict[str, Tensor]


def _check_images(x: object, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of images, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name}: expected a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating dtype (images in [0, 1]), got {x.dtype}")
    return x


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """U(0, 1) draws on the generator's device, then moved to ``device``."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    if generator is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def _randint(low: int, high: int, shape: tuple[int, ...], generator: torch.Generator | None,
             device: torch.device) -> Tensor:
    """Integers in ``[low, high]`` (inclusive)."""
    if generator is None:
        return torch.randint(low, high + 1, shape, device=device)
    return torch.randint(low, high + 1, shape, generator=generator, device=generator.device).to(device)


def _check_range(value: object, name: str, *, low: float = -math.inf,
                 high: float = math.inf) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name}: expected a (low, high) pair, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (low <= lo <= hi <= high):
        raise ValueError(f"{name}: expected {low} <= low <= high <= {high}, got {value!r}")
    return lo, hi


def _check_prob(p: object, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    return float(p)


class BatchAugment(nn.Module):
    """Base class: ``forward(x, generator) = apply(x, sample_params(x, generator))``."""

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        """Per-sample random parameters for the batch ``x``."""
        raise NotImplementedError  # abstract: each augmentation defines its parameters

    def apply(self, x: Tensor, params: Params) -> Tensor:
        """Deterministic transform of ``x`` with the given parameters."""
        raise NotImplementedError  # abstract: each augmentation defines its transform

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = _check_images(x)
        return self.apply(x, self.sample_params(x, generator))


class RandomCircularShift(BatchAugment):
    """Translate each image by ``(dy, dx)``, integers uniform in ``[-max_shift, max_shift]``, wrapping.

    Equivalent to ``torch.roll(x[i], (dy_i, dx_i), dims=(-2, -1))`` per sample, done with two
    batched ``gather`` calls on modular index grids. Circular, so no content is lost: on the
    digit canvases it moves the digit without clipping it (see docs/data.md).
    """

    def __init__(self, max_shift: int = 4) -> None:
        super().__init__()
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift: expected an integer >= 0, got {max_shift!r}")
        self.max_shift = max_shift

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        m = self.max_shift
        return {"shift": _randint(-m, m, (x.shape[0], 2), generator, x.device)}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        B, C, H, W = x.shape
        shift = params["shift"].to(x.device).long()
        rows = (torch.arange(H, device=x.device)[None, :] - shift[:, :1]) % H  # (B, H)
        cols = (torch.arange(W, device=x.device)[None, :] - shift[:, 1:]) % W  # (B, W)
        x = x.gather(2, rows[:, None, :, None].expand(B, C, H, W))
        return x.gather(3, cols[:, None, None, :].expand(B, C, H, W))


class RandomIntensity(BatchAugment):
    """Multiply each image by a factor ``U(low, high)`` (a greyscale brightness jitter)."""

    def __init__(self, low: float = 0.8, high: float = 1.2) -> None:
        super().__init__()
        self.low, self.high = _check_range((low, high), "low/high", low=0.0)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        u = _rand((x.shape[0],), generator, x.device)
        return {"scale": self.low + (self.high - self.low) * u}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        return x * params["scale"].to(device=x.device, dtype=x.dtype)[:, None, None, None]


class GaussianNoise(BatchAugment):
    """Add i.i.d. ``N(0, std^2)`` noise to every pixel."""

    def __init__(self, std: float = 0.05) -> None:
        super().__init__()
        if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
            raise ValueError(f"std: expected a number >= 0, got {std!r}")
        self.std = float(std)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        return {"noise": self.std * _randn(tuple(x.shape), generator, x.device)}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        return x + params["noise"].to(device=x.device, dtype=x.dtype)


class RandomErase(BatchAugment):
    """Set a ``size x size`` patch at a uniform random position to ``value`` (Zhong et al., AAAI 2020).

    Each sample is erased with probability ``p``; the patch lies fully inside the image.
    """

    def __init__(self, size: int = 2, p: float = 1.0, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size: expected an integer >= 1, got {size!r}")
        self.size, self.p, self.value = size, _check_prob(p), float(value)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        B, _, H, W = x.shape
        if self.size > min(H, W):
            raise ValueError(f"x: images {H}x{W} are smaller than the erase patch size {self.size}")
        return {
            "top": _randint(0, H - self.size, (B,), generator, x.device),
            "left": _randint(0, W - self.size, (B,), generator, x.device),
            "active": _rand((B,), generator, x.device) < self.p,
        }

    def apply(self, x: Tensor, params: Params) -> Tensor:
        _, _, H, W = x.shape
        top, left = params["top"].to(x.device)[:, None], params["left"].to(x.device)[:, None]
        r = torch.arange(H, device=x.device)[None, :]
        c = torch.arange(W, device=x.device)[None, :]
        in_rows = (r >= top) & (r < top + self.size)  # (B, H)
        in_cols = (c >= left) & (c < left + self.size)  # (B, W)
        mask = in_rows[:, :, None] & in_cols[:, None, :] & params["active"].to(x.device)[:, None, None]
        return x.masked_fill(mask[:, None], self.value)


class RandomHorizontalFlip(BatchAugment):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_prob(p)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        return {"flip": _rand((x.shape[0],), generator, x.device) < self.p}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        return torch.where(params["flip"].to(x.device)[:, None, None, None], x.flip(-1), x)


def _affine(x: Tensor, theta: Tensor, size: tuple[int, int], padding_mode: str) -> Tensor:
    """Sample ``x`` at ``theta @ [x_out, y_out, 1]`` (normalised coordinates, bilinear)."""
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], *size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


class RandomResizedCrop(BatchAugment):
    """Crop a random region and resize it to ``size`` (Szegedy et al., CVPR 2015; SimCLR's main view).

    Per sample: area fraction ``s ~ U(scale)``, aspect ratio ``r = exp(U(log ratio))``, region
    width ``sqrt(s r)`` and height ``sqrt(s / r)`` as fractions of the image side (clipped to 1,
    where torchvision instead retries), centre uniform over the positions that keep the region
    inside the image. The region is resampled bilinearly with one ``grid_sample`` call.
    ``theta`` in the params is the ``(B, 2, 3)`` output-to-input affine map in ``affine_grid``'s
    normalised coordinates: ``[[w, 0, cx], [0, h, cy]]``.
    """

    def __init__(self, size: int | tuple[int, int] | None = None, scale: tuple[float, float] = (0.5, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> None:
        super().__init__()
        self.scale = _check_range(scale, "scale", low=1e-6, high=1.0)
        self.ratio = _check_range(ratio, "ratio", low=1e-6)
        if size is not None and isinstance(size, int):
            size = (size, size)
        self.size = size

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        B = x.shape[0]
        u = _rand((B, 4), generator, x.device).to(torch.float32)
        area = self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 0]
        log_r = math.log(self.ratio[0]) + (math.log(self.ratio[1]) - math.log(self.ratio[0])) * u[:, 1]
        r = log_r.exp()
        w = (area * r).sqrt().clamp(max=1.0)
        h = (area / r).sqrt().clamp(max=1.0)
        cx = (1.0 - w) * (2.0 * u[:, 2] - 1.0)
        cy = (1.0 - h) * (2.0 * u[:, 3] - 1.0)
        zero = torch.zeros_like(w)
        theta = torch.stack([torch.stack([w, zero, cx], 1), torch.stack([zero, h, cy], 1)], 1)
        return {"theta": theta}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        size = self.size or (x.shape[2], x.shape[3])
        return _affine(x, params["theta"], size, padding_mode="border")


class RandomRotation(BatchAugment):
    """Rotate each image about its centre by an angle ``U(-degrees, degrees)``, zero padding.

    A positive angle turns the image counter-clockwise as displayed (row 0 at the top); +90
    degrees equals ``torch.rot90(x, 1, dims=(-2, -1))``. Non-square images are rotated in pixel
    units (the normalised affine map is corrected for the aspect ratio). ``angle`` in the
    params is in degrees.
    """

    def __init__(self, degrees: float = 10.0) -> None:
        super().__init__()
        if isinstance(degrees, bool) or not isinstance(degrees, (int, float)) or degrees < 0:
            raise ValueError(f"degrees: expected a number >= 0, got {degrees!r}")
        self.degrees = float(degrees)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> Params:
        u = _rand((x.shape[0],), generator, x.device)
        return {"angle": self.degrees * (2.0 * u - 1.0)}

    def apply(self, x: Tensor, params: Params) -> Tensor:
        H, W = x.shape[2], x.shape[3]
        a = params["angle"].to(device=x.device, dtype=torch.float64) * (math.pi / 180.0)
        cos, sin = a.cos(), a.sin()
        zero = torch.zeros_like(a)
        theta = torch.stack([torch.stack([cos, -sin * H / W, zero], 1),
                             torch.stack([sin * W / H, cos, zero], 1)], 1)
        return _affine(x, theta, (H, W), padding_mode="zeros")


class SimCLRAugment(nn.Module):
    """A composition of batched augmentations; two independent draws give a SimCLR pair of views.

    ``SimCLRAugment([t1, t2, ...])(x, generator)`` applies ``t1`` then ``t2`` ... with fresh
    per-sample parameters. Use :meth:`two_views` for (v1, v2) and :meth:`views` for ``m`` views
    (multi-positive methods). Presets: :meth:`for_canvas`, :meth:`for_digits`,
    :meth:`for_fashion_mnist`.
    """

    def __init__(self, transforms: Sequence[nn.Module]) -> None:
        super().__init__()
        for i, t in enumerate(transforms):
            if not isinstance(t, nn.Module):
                raise TypeError(f"transforms[{i}]: expected an nn.Module augmentation, "
                                f"got {type(t).__name__}")
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = _check_images(x)
        for t in self.transforms:
            x = t(x, generator) if isinstance(t, (BatchAugment, SimCLRAugment)) else t(x)
        return x

    def two_views(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Two independently augmented views of the batch."""
        return self(x, generator), self(x, generator)

    def views(self, x: Tensor, m: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``m`` independently augmented views of the batch."""
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"m: expected a number of views >= 1, got {m!r}")
        return [self(x, generator) for _ in range(m)]

    @classmethod
    def for_canvas(cls, max_shift: int = 4, intensity: tuple[float, float] = (0.8, 1.2),
                   noise_std: float = 0.05) -> SimCLRAugment:
        """Digits-on-canvas views (see docs/data.md): circular shift +-4, intensity U(0.8, 1.2), N(0, 0.05)."""
        return cls([RandomCircularShift(max_shift), RandomIntensity(*intensity), GaussianNoise(noise_std)])

    @classmethod
    def for_digits(cls) -> SimCLRAugment:
        """Raw 8x8 digits (see docs/data.md): shift +-1 px, rotation +-10 deg, intensity, noise 0.05."""
        return cls([RandomCircularShift(1), RandomRotation(10.0), RandomIntensity(0.8, 1.2),
                    GaussianNoise(0.05)])

    @classmethod
    def for_fashion_mnist(cls, scale: tuple[float, float] = (0.5, 1.0)) -> SimCLRAugment:
        """Fashion-MNIST views: resized crop (area 0.5-1), flip, intensity U(0.8, 1.2), N(0, 0.05)."""
        return cls([RandomResizedCrop(scale=scale), RandomHorizontalFlip(0.5), RandomIntensity(0.8, 1.2),
                    GaussianNoise(0.05)])


# ---------------------------------------------------------------------------------------------
# Natural-image views with kornia: SimCLR, BYOL and DINO multi-crop presets.
# kornia is an optional dependency (``pip install 'contrastkit[vision]'``); it is imported on
# first use so that the torch-only augmentations above never need it.

KORNIA_HINT = "kornia is needed for the natural-image augmentations; install it with pip install 'contrastkit[vision]'"


def _kornia() -> Any:
    try:
        import kornia.augmentation as K
    except ImportError as err:
        raise ImportError(KORNIA_HINT) from err
    return K


@contextmanager
def _seeded(generator: torch.Generator | None, device: torch.device) -> Iterator[None]:
    """Run kornia's parameter sampling (global RNG) from a seed drawn from ``generator``.

    kornia draws from the global RNG; forking it and seeding from ``generator`` makes a call
    reproducible without touching the caller's global random state.
    """
    if generator is None:
        yield
        return
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _check_size(size: object, name: str) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size)):
        raise ValueError(f"{name}: expected an image side >= 1 or an (height, width) pair, got {size!r}")
    return int(size[0]), int(size[1])


def blur_kernel_size(side: int) -> int:
    """SimCLR's blur kernel: 10 % of the image side, made odd (23 for 224, as in BYOL), at least 3."""
    return max(3, int(0.1 * side) // 2 * 2 + 1)


class KorniaAugment(BatchAugment):
    """A kornia pipeline behind the :class:`BatchAugment` contract (``sample_params`` / ``apply``).

    ``KorniaAugment(K.RandomResizedCrop((32, 32)), K.ColorJitter(...), ...)`` runs the kornia
    augmentations in order with per-sample parameters, on the input's device. With a
    ``generator`` the parameters are drawn reproducibly (kornia's global-RNG sampling is run from
    a seed drawn from the generator). Inputs: float ``(B, C, H, W)`` in ``[0, 1]``; colour
    jitter and grey-scale expect ``C = 3``.
    """

    def __init__(self, *augmentations: nn.Module) -> None:
        super().__init__()
        K = _kornia()
        if not augmentations:
            raise ValueError("augmentations: expected at least one kornia augmentation")
        self.pipeline = K.AugmentationSequential(*augmentations)
        self.needs_rgb = any(isinstance(a, (K.ColorJitter, K.ColorJiggle, K.RandomGrayscale)) for a in augmentations)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        _check_images(x)
        if self.needs_rgb and x.shape[1] != 3:
            raise ValueError(f"x: colour jitter / grey-scale expect RGB images (B, 3, H, W), got shape "
                             f"{tuple(x.shape)}; repeat a grey channel with x.expand(-1, 3, -1, -1)")
        with _seeded(generator, x.device):
            return {"kornia": self.pipeline.forward_parameters(x.shape)}

    def apply(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return self.pipeline(x, params=params["kornia"])


def natural_view(size: int | tuple[int, int], *, scale: tuple[float, float] = (0.08, 1.0),
                 jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2), p_jitter: float = 0.8,
                 p_gray: float = 0.2, p_blur: float = 0.5, sigma: tuple[float, float] = (0.1, 2.0),
                 p_solarize: float = 0.0, p_flip: float = 0.5) -> KorniaAugment:
    """One natural-image view: resized crop, flip, colour jitter, grey-scale, blur, solarise.

    The composition of SimCLR (Chen et al., ICML 2020, appendix A), shared by BYOL and DINO with
    other probabilities. ``jitter`` is (brightness, contrast, saturation, hue) strength, applied
    with probability ``p_jitter`` in a random order (torchvision's ``ColorJitter``). The blur
    kernel is :func:`blur_kernel_size` of the crop side, ``sigma ~ U(sigma)``; solarisation
    inverts pixels above 0.5. A probability of 0 drops the step.
    """
    K = _kornia()
    hw = _check_size(size, "size")
    scale = _check_range(scale, "scale", low=1e-6, high=1.0)
    for name, p in (("p_jitter", p_jitter), ("p_gray", p_gray), ("p_blur", p_blur),
                    ("p_solarize", p_solarize), ("p_flip", p_flip)):
        _check_prob(p, name)
    if not isinstance(jitter, (tuple, list)) or len(jitter) != 4 or any(j < 0 for j in jitter):
        raise ValueError(f"jitter: expected four strengths >= 0 (brightness, contrast, saturation, hue), "
                         f"got {jitter!r}")
    steps: list[nn.Module] = [K.RandomResizedCrop(hw, scale=scale, ratio=(3 / 4, 4 / 3))]
    if p_flip > 0:
        steps.append(K.RandomHorizontalFlip(p=p_flip))
    if p_jitter > 0:
        b, c, s, h = (float(j) for j in jitter)
        steps.append(K.ColorJitter(b, c, s, h, p=p_jitter))
    if p_gray > 0:
        steps.append(K.RandomGrayscale(p=p_gray))
    if p_blur > 0:
        k = blur_kernel_size(min(hw))
        steps.append(K.RandomGaussianBlur((k, k), _check_range(sigma, "sigma", low=1e-6), p=p_blur))
    if p_solarize > 0:
        steps.append(K.RandomSolarize(thresholds=0.0, additions=0.0, p=p_solarize))
    return KorniaAugment(*steps)


class MultiViewAugment(nn.Module):
    """A fixed list of per-view augmentations: ``forward(x, generator)`` returns one tensor per view.

    Asymmetric methods draw each view from its own distribution (BYOL's two views, DINO's global
    and local crops); views may have different sizes, so the result is a list.
    """

    def __init__(self, views: Sequence[nn.Module]) -> None:
        super().__init__()
        if not views:
            raise ValueError("views: expected at least one view augmentation")
        for i, v in enumerate(views):
            if not isinstance(v, BatchAugment):
                raise TypeError(f"views[{i}]: expected a BatchAugment, got {type(v).__name__}")
        self.views = nn.ModuleList(views)

    def __len__(self) -> int:
        return len(self.views)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        x = _check_images(x)
        return [v(x, generator) for v in self.views]


def simclr_augment(size: int | tuple[int, int], *, strength: float = 1.0, blur: bool = True) -> SimCLRAugment:
    """SimCLR's view (Chen et al., ICML 2020, appendix A); two draws give the pair of views.

    Random resized crop (area 0.08-1, aspect 3/4-4/3), flip 0.5, colour jitter
    (0.8s, 0.8s, 0.8s, 0.2s) with probability 0.8 for colour strength ``s = strength``, grey-scale
    0.2, Gaussian blur (kernel 10 % of the side, sigma 0.1-2) with probability 0.5 (``blur=False``
    for CIFAR-sized images, as the paper does).
    """
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or strength < 0:
        raise ValueError(f"strength: expected a colour-jitter strength >= 0, got {strength!r}")
    s = float(strength)
    return SimCLRAugment([natural_view(size, jitter=(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s),
                                       p_blur=0.5 if blur else 0.0)])


def byol_augment(size: int | tuple[int, int]) -> MultiViewAugment:
    """BYOL's two asymmetric views (Grill et al., NeurIPS 2020, table 6).

    Both: resized crop (0.08-1), flip 0.5, colour jitter (0.4, 0.4, 0.2, 0.1) with probability
    0.8, grey-scale 0.2. View 1: blur probability 1.0, no solarisation. View 2: blur 0.1,
    solarisation 0.2.
    """
    common = {"jitter": (0.4, 0.4, 0.2, 0.1), "p_jitter": 0.8, "p_gray": 0.2}
    return MultiViewAugment([natural_view(size, p_blur=1.0, p_solarize=0.0, **common),
                             natural_view(size, p_blur=0.1, p_solarize=0.2, **common)])


def dino_multicrop(global_size: int | tuple[int, int] = 224, local_size: int | tuple[int, int] = 96,
                   n_local: int = 8, *, global_scale: tuple[float, float] = (0.4, 1.0),
                   local_scale: tuple[float, float] = (0.05, 0.4)) -> MultiViewAugment:
    """DINO's multi-crop (Caron et al., ICCV 2021; official ``DataAugmentationDINO``): 2 global + ``n_local`` local.

    All crops: flip 0.5, colour jitter (0.4, 0.4, 0.2, 0.1) with probability 0.8, grey-scale 0.2.
    Global crops (area ``global_scale``, default 0.4-1): the first blurred with probability 1.0,
    the second 0.1 and solarised 0.2. Local crops (area ``local_scale``, default 0.05-0.4,
    side ``local_size``): blur 0.5. The list holds the two global crops first.
    """
    if isinstance(n_local, bool) or not isinstance(n_local, int) or n_local < 0:
        raise ValueError(f"n_local: expected a number of local crops >= 0, got {n_local!r}")
    common = {"jitter": (0.4, 0.4, 0.2, 0.1), "p_jitter": 0.8, "p_gray": 0.2}
    views: list[nn.Module] = [
        natural_view(global_size, scale=global_scale, p_blur=1.0, **common),
        natural_view(global_size, scale=global_scale, p_blur=0.1, p_solarize=0.2, **common),
    ]
    views += [natural_view(local_size, scale=local_scale, p_blur=0.5, **common) for _ in range(n_local)]
    return MultiViewAugment(views)
