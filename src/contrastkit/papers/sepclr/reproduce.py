"""SepCLR (Louiset et al., ICLR 2024, "SepCLR: Separating common from salient patterns with
contrastive representation learning") in miniature on digits-on-gratings.

Arms: SepCLR (beta_S = beta_R = 1000, lambda_J = 10) and its ablation without k-JEM; the untrained
encoder is measured for the precondition. Leakage = digit linear-probe accuracy on the common
backbone, target test images.

Preconditions (``not testable`` when one fails): the digit is visible in the pixels; SepCLR's salient
space learned the digit beyond the untrained encoder; the ablation's common space holds digit
information that could leak; the design's MDE is at most the paper's effect.
Claim: SepCLR's leakage < the ablation's (paired one-sided t-test over seeds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def digits_on_gratings(images8: Tensor, labels: Tensor, *, n_gratings: int = 5, cycles: float = 3.0,
                       background: Tensor | None = None, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """16x16 contrastive-analysis images: ``0.5 * grating (+ 0.5 * digit on target rows)``.

    Grating class ``g`` is a sinusoid of orientation ``g * 180 / n_gratings`` degrees and ``cycles``
    periods per image, with a uniformly random phase per image (seeded); the digit is the 8x8 image
    upsampled 2x. Returns ``(images (n, 1, 16, 16), grating_labels, is_target)``.
    """
    n = images8.shape[0]
    g = torch.Generator().manual_seed(seed)
    grating = torch.randint(0, n_gratings, (n,), generator=g)
    phase = torch.rand(n, generator=g) * 2 * math.pi
    theta = grating.float() * math.pi / n_gratings
    coords = torch.arange(16, dtype=torch.float32) / 16
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    proj = xx[None] * torch.cos(theta)[:, None, None] + yy[None] * torch.sin(theta)[:, None, None]
    wave = 0.5 + 0.5 * torch.sin(2 * math.pi * cycles * proj + phase[:, None, None])
    digit = images8.reshape(n, 8, 8).repeat_interleave(2, 1).repeat_interleave(2, 2)
    is_target = torch.ones(n, dtype=torch.bool) if background is None else ~background
    out = 0.5 * wave + 0.5 * digit * is_target[:, None, None].float()
    return out.unsqueeze(1), grating, is_target


def pixel_mlp(in_pixels: int, hidden: int, feature_dim: int) -> nn.Module:
    """``Flatten -> Linear(in_pixels, hidden) -> ReLU -> Linear(hidden, feature_dim)``: sees every pixel."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_pixels, hidden), nn.ReLU(), nn.Linear(hidden, feature_dim))


def _data(cfg: dict[str, Any], quick: bool) -> dict[str, Tensor]:
    from contrastkit.papers._multimodal import _subset
    from contrastkit.vision.data import load_digits

    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    tr, te = load_digits("train"), load_digits("test")
    itr, ite = _subset(len(tr), q.get("n_train")), _subset(len(te), q.get("n_test"))
    gb = torch.Generator().manual_seed(d["seed"])
    background = torch.rand(len(itr), generator=gb) < d["background_fraction"]
    xtr, gtr, ttr = digits_on_gratings(tr.images[itr], tr.labels[itr], n_gratings=d["n_gratings"],
                                       cycles=d["cycles"], background=background, seed=d["seed"])
    copies = d["test_copies"]
    xte, gte, _ = digits_on_gratings(te.images[ite].repeat(copies, 1, 1, 1), te.labels[ite].repeat(copies),
                                     n_gratings=d["n_gratings"], cycles=d["cycles"], seed=d["seed"] + 1)
    return {"xtr": xtr, "ytr": tr.labels[itr], "gtr": gtr, "ttr": ttr, "xte": xte,
            "yte": te.labels[ite].repeat(copies), "gte": gte}


def _probes(fn: Any, data: dict[str, Tensor], seed: int) -> dict[str, float]:
    from contrastkit import evaluate as ev
    from contrastkit.papers._multimodal import _embed

    t = data["ttr"]
    htr, hte = _embed(fn, data["xtr"][t]), _embed(fn, data["xte"])
    return {"digit": ev.linear_probe(htr, data["ytr"][t], hte, data["yte"], seed=seed),
            "grating": ev.linear_probe(htr, data["gtr"][t], hte, data["gte"], seed=seed)}


def _encoder(cfg: dict[str, Any]) -> nn.Module:
    e = cfg["model"]["encoder"]
    if e["kind"] != "mlp":
        raise ValueError(f"model.encoder.kind: expected 'mlp', got {e['kind']!r}")
    return pixel_mlp(16 * 16, e["hidden"], e["feature_dim"])


def _train_arm(cfg: dict[str, Any], arm: str, seed: int, quick: bool, data: dict[str, Tensor]) -> dict[str, float]:
    from contrastkit.losses.sepclr import SepCLR
    from contrastkit.papers._multimodal import _canvas_augment, _fit
    from contrastkit.papers.sepclr.module import SepCLRModel

    q = cfg["quick"] if quick else {}
    a, tr, w = cfg["augment"], cfg["trainer"], cfg["arms"][arm]
    dim = cfg["model"]["encoder"]["feature_dim"]
    torch.manual_seed(seed)
    ce, se = _encoder(cfg), _encoder(cfg)
    model = SepCLRModel(ce, se, dim, dim, _canvas_augment(a["max_shift"], a["intensity"], a["noise_std"]),
                        data["xtr"], data["ttr"], loss=SepCLR(w["beta_salient"], w["beta_reg"], w["lambda_jem"]),
                        batch_size=min(q.get("batch_size", tr["batch_size"]), len(data["xtr"])), lr=tr["lr"],
                        seed=seed)
    _fit(model, q.get("max_steps", tr["max_steps"]))
    out = {}
    for space, fn in (("c", model.common_features), ("s", model.salient_features)):
        for k, v in _probes(fn, data, seed).items():
            out[f"{k}_on_{space}"] = v
    return out


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Train every arm on every seed and decide the preconditions and the claim (module doc)."""
    from contrastkit import evaluate as ev

    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    data = _data(cfg, quick)
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        torch.manual_seed(seed)
        untrained = _encoder(cfg).eval()
        for k, v in _probes(untrained, data, seed).items():
            rows.setdefault("untrained", {}).setdefault(f"{k}_on_s", []).append(v)
        for arm in cfg["arms"]:
            for k, v in _train_arm(cfg, arm, seed, quick, data).items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    t = data["ttr"]
    pixel = ev.linear_probe(data["xtr"][t].flatten(1), data["ytr"][t], data["xte"].flatten(1), data["yte"], seed=0)
    return decide(cfg, rows, pixel, quick)


def decide(cfg: dict[str, Any], rows: dict[str, dict[str, list[float]]], pixel_digit: float,
           quick: bool) -> ReproResult:
    """Preconditions and claim from per-seed probe accuracies ``rows[arm][probe]`` (module doc)."""
    c = cfg["claims"]
    s, nj, un = rows["sepclr"], rows["no_jem"], rows["untrained"]
    learned = paired(s["digit_on_s"], un["digit_on_s"], c["salient_learned"])
    leak_base = sum(nj["digit_on_c"]) / len(nj["digit_on_c"])
    test = paired([-v for v in s["digit_on_c"]], [-v for v in nj["digit_on_c"]], c["leakage"])
    claims = [
        Claim("the digit (salient pattern) is visible in the pixels", pixel_digit >= c["pixel_digit_min"],
              f"raw-pixel digit probe {pixel_digit:.1%} (min {c['pixel_digit_min']:.0%})", precondition=True),
        Claim.from_test("SepCLR's salient space learned the digit (beyond the untrained encoder)", learned,
                        scale=100, unit=" points", precondition=True,
                        note=f"digit on s {fmt(s['digit_on_s'], 100)}% vs untrained {fmt(un['digit_on_s'], 100)}%"),
        Claim("salient information could leak: the ablation's common space reads the digit above chance",
              leak_base - 0.1 >= c["leak_possible_min"],
              f"no-k-JEM digit on c {fmt(nj['digit_on_c'], 100)}% (chance 10%, min +{c['leak_possible_min']:.0%})",
              precondition=True),
        power_precondition("the leakage difference", test, c["leakage"]["paper_effect"], scale=100, unit=" points"),
        Claim.from_test("less digit leakage into the common space with k-JEM than without", test, scale=100,
                        unit=" points", note=f"digit on c: SepCLR {fmt(s['digit_on_c'], 100)}% vs no k-JEM "
                                             f"{fmt(nj['digit_on_c'], 100)}%"),
        Claim("probe table (reported)", True,
              "; ".join(f"{arm}: " + ", ".join(f"{k} {fmt(v, 100)}%" for k, v in r.items()) for arm, r in rows.items()),
              gating=False),
    ]
    return ReproResult("sepclr", gate(claims, quick), {"probes": rows, "pixel_digit": pixel_digit}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
