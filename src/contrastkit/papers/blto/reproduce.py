"""BLTO (Sun et al., ICLR 2024) in miniature: learned vs fixed triggers against a SimCLR victim.

Per seed: optimise BLTO's trigger generator against a SimCLR surrogate
(:class:`~contrastkit.papers.blto.module.BiLevelTriggerOptimizer`), then for each arm poison 3 % of
the training set (target-class images, :func:`contrastkit.backdoor.poison_images`), train a SimCLR
victim from scratch on it (:func:`contrastkit.training.fit`), fit a linear probe on clean features
of the clean training set and measure clean accuracy and ASR of the triggered test images
(:func:`contrastkit.backdoor.linear_probe_backdoor`).

Precondition: the clean victim learns (probe accuracy >= the recipe's minimum); the power of each
comparison. Claims (paired over seeds): BLTO's ASR > the fixed patch's and > the fixed noise's; the
BLTO victim's clean accuracy within 3 points of the clean victim's. Also reported: the ASR of each
trigger on the *clean* victim (what an untargeted perturbation achieves without poisoning).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.papers._claims import gate, load_recipe, main, mean_precondition, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")
ARMS = ("clean", "patch", "noise", "blto")


def _q(cfg: dict[str, Any], quick: bool, key: str, default: Any) -> Any:
    return cfg["quick"].get(key, default) if quick else default


def _data(cfg: dict[str, Any], quick: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from contrastkit.papers._multimodal import _digits_canvas, _subset

    xtr, ytr = _digits_canvas("train")
    xte, yte = _digits_canvas("test")
    n = _q(cfg, quick, "n_train", None)
    if n is not None:
        i = _subset(len(ytr), n)
        xtr, ytr = xtr[i], ytr[i]
        j = _subset(len(yte), n)
        xte, yte = xte[j], yte[j]
    return xtr, ytr, xte, yte


def _augment(spec: dict[str, Any]) -> nn.Module:
    from contrastkit.papers._multimodal import _canvas_augment

    return _canvas_augment(spec["max_shift"], spec["intensity"], spec["noise_std"])


def _net(widths: Sequence[int], head: dict[str, int]) -> nn.Module:
    from contrastkit.methods.view_contrastive import EncoderWithHead
    from contrastkit.papers._multimodal import _cnn
    from contrastkit.vision.encoders import ProjectionHead

    enc = _cnn(widths)
    return EncoderWithHead(enc, ProjectionHead(enc.feature_dim, head["hidden"], head["out"]))


def train_blto_trigger(cfg: dict[str, Any], images: Tensor, labels: Tensor, poison_index: Tensor, seed: int,
                       quick: bool = False) -> Any:
    """BLTO's trigger for one seed: the generator trained by bi-level optimisation (recipe ``blto``)."""
    from contrastkit.backdoor import ConvTriggerGenerator, LearnedTrigger
    from contrastkit.papers.blto.module import BiLevelTriggerOptimizer

    b, a = cfg["blto"], cfg["attack"]
    torch.manual_seed(seed)
    trigger = LearnedTrigger(ConvTriggerGenerator(images.shape[1], b["generator_hidden"]), a["epsilon"])
    opt = BiLevelTriggerOptimizer(
        trigger, lambda: _net(b["surrogate_widths"], cfg["victim"]["head"]), _augment(cfg["victim"]["augment"]),
        images, poison_index,
        images[labels == a["target"]], temperature=cfg["victim"]["temperature"],
        batch_size=min(b["batch_size"], len(images)), poison_per_batch=b["poison_per_batch"],
        surrogate_lr=b["surrogate_lr"], generator_lr=b["generator_lr"], seed=seed)
    return opt.run(_q(cfg, quick, "rounds", b["rounds"]), _q(cfg, quick, "inner_steps", b["inner_steps"]),
                   _q(cfg, quick, "outer_steps", b["outer_steps"]), b["reinit_every"])


def make_triggers(cfg: dict[str, Any], images: Tensor, labels: Tensor, poison_index: Tensor, seed: int,
                  quick: bool = False) -> dict[str, nn.Module]:
    """The attack arms' triggers: fixed patch, fixed noise (both seeded), BLTO's learned trigger."""
    from contrastkit.backdoor import NoiseTrigger, PatchTrigger

    a = cfg["attack"]
    return {"patch": PatchTrigger(a["patch_size"], "random", "white"),
            "noise": NoiseTrigger(a["epsilon"], seed=seed),
            "blto": train_blto_trigger(cfg, images, labels, poison_index, seed, quick)}


def train_victim(cfg: dict[str, Any], images: Tensor, seed: int, quick: bool = False) -> nn.Module:
    """SimCLR from scratch on ``images`` (the released, possibly poisoned set); the trained network."""
    from contrastkit.losses.infonce import InfoNCE
    from contrastkit.methods.view_contrastive import SimCLR
    from contrastkit.papers._multimodal import _fit

    v = cfg["victim"]
    torch.manual_seed(seed)
    model = SimCLR(_net(v["widths"], v["head"]), InfoNCE(v["temperature"]), _augment(v["augment"]), images,
                   batch_size=min(v["batch_size"], len(images)), lr=v["lr"], seed=seed)
    _fit(model, _q(cfg, quick, "max_steps", v["max_steps"]))
    return model.model.eval()


@torch.no_grad()
def _features(net: nn.Module, x: Tensor) -> Tensor:
    from contrastkit.papers._multimodal import _embed

    return _embed(lambda b: net(b)[0], x)


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Every arm on every seed (module doc); returns the claims and per-seed metrics."""
    from contrastkit.backdoor import choose_poison_rows, linear_probe_backdoor

    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    xtr, ytr, xte, yte = _data(cfg, quick)
    a = cfg["attack"]
    ca: dict[str, list[float]] = {arm: [] for arm in ARMS}
    asr: dict[str, list[float]] = {arm: [] for arm in ARMS}
    asr_on_clean: dict[str, list[float]] = {arm: [] for arm in ARMS[1:]}
    for seed in seeds:
        index = choose_poison_rows(len(xtr), a["rate"], candidates=torch.nonzero(ytr == a["target"]).flatten(),
                                   seed=seed)
        triggers = make_triggers(cfg, xtr, ytr, index, seed, quick)
        for arm in ARMS:
            released = xtr.clone()
            if arm != "clean":
                with torch.no_grad():
                    released[index] = triggers[arm](xtr[index], generator=torch.Generator().manual_seed(seed))
            net = train_victim(cfg, released, seed, quick)
            ftr, fte = _features(net, xtr), _features(net, xte)
            for trig_arm in ARMS[1:] if arm == "clean" else (arm,):
                with torch.no_grad():
                    xt = triggers[trig_arm](xte, generator=torch.Generator().manual_seed(seed + 7))
                r = linear_probe_backdoor(ftr, ytr, fte, yte, _features(net, xt), a["target"])
                if arm == "clean":
                    asr_on_clean[trig_arm].append(r["asr"])
                else:
                    asr[arm].append(r["asr"])
            ca[arm].append(r["clean_accuracy"])
    asr["clean"] = asr_on_clean["blto"]
    return decide(cfg, ca, asr, asr_on_clean, quick)


def decide(cfg: dict[str, Any], ca: dict[str, list[float]], asr: dict[str, list[float]],
           asr_on_clean: dict[str, list[float]], quick: bool) -> ReproResult:
    """Preconditions and claims from per-seed clean accuracy and ASR (fractions) of each arm."""
    c = cfg["claims"]
    over_patch = paired(asr["blto"], asr["patch"], c["over_patch"])
    over_noise = paired(asr["blto"], asr["noise"], c["over_noise"])
    keep = paired(ca["blto"], ca["clean"], c["clean_accuracy"])
    best = max(("blto", "patch", "noise"), key=lambda arm: sum(asr[arm]) / len(asr[arm]))
    implant = [a - b for a, b in zip(asr[best], asr_on_clean[best], strict=True)]
    note = (f"ASR: BLTO {fmt(asr['blto'], 100)}%, patch {fmt(asr['patch'], 100)}%, noise {fmt(asr['noise'], 100)}%; "
            f"on the clean victim: BLTO {fmt(asr_on_clean['blto'], 100)}%, patch {fmt(asr_on_clean['patch'], 100)}%, "
            f"noise {fmt(asr_on_clean['noise'], 100)}%")
    claims = [
        mean_precondition("the clean SimCLR victim learns (linear-probe accuracy)", ca["clean"],
                          c["clean_victim_accuracy_min"], "accuracy"),
        # without any implanted backdoor the ASR comparison only compares false-positive rates
        mean_precondition("some trigger implants a backdoor (best arm's ASR minus the clean victim's)", implant,
                          c["implant_min"], "ASR excess"),
        power_precondition("BLTO ASR - patch ASR", over_patch, c["over_patch"]["paper_effect"], scale=100,
                           unit=" points", guards="BLTO ASR > fixed-patch ASR"),
        power_precondition("BLTO ASR - noise ASR", over_noise, c["over_noise"]["paper_effect"], scale=100,
                           unit=" points", guards="BLTO ASR > fixed-noise ASR"),
        Claim.from_test("BLTO ASR > fixed-patch ASR", over_patch, scale=100, unit=" points", note=note),
        Claim.from_test("BLTO ASR > fixed-noise ASR", over_noise, scale=100, unit=" points"),
        Claim.from_test("BLTO victim clean accuracy within 3 points of the clean victim", keep, scale=100,
                        unit=" points", note=f"BLTO {fmt(ca['blto'], 100)}% vs clean {fmt(ca['clean'], 100)}% "
                        f"(patch {fmt(ca['patch'], 100)}%, noise {fmt(ca['noise'], 100)}%)"),
    ]
    return ReproResult("blto", gate(claims, quick), {"clean_accuracy": ca, "asr": asr, "asr_on_clean_victim":
                                                     asr_on_clean}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
