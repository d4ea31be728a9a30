"""InverTune (Wang et al., NDSS 2026, "InverTune: Removing Backdoors from Multimodal Contrastive Learning
Models via Trigger Inversion and Activation Tuning") in miniature.

Per seed: the CleanCLIP miniature's poisoned mini-CLIP (:func:`contrastkit.papers.cleanclip.reproduce.
train_poisoned_clip`, its recipe unchanged) is handed to the defender together with the 400 held-out clean
labelled images — not the poisoned data, the trigger or the target. The defender

1. pastes an untargeted universal adversarial patch on the clean images and takes the class whose
   predicted share grows most as the target (:func:`contrastkit.backdoor.inversion.identify_target`);
2. inverts a mask + pattern for that target with the four-term loss (:func:`~contrastkit.backdoor.
   inversion.invert_trigger`);
3. tunes the image tower's critical units on one clean batch of 64 (:func:`contrastkit.papers.invertune.
   module.activation_tune`); the text tower is untouched.

Metrics on the 360 test digits: zero-shot clean accuracy and the *real* trigger's ASR before and after
tuning (and the inverted trigger's ASR on the backdoored model). Precondition: the victim is backdoored
(mean ASR >= the recipe's minimum). Claims: the planted target is identified in >= 2 of the seeds; the
real-trigger ASR falls by >= 80 % relative (per seed ``1 - after / before``, one-sided t-test against 0.80);
clean accuracy at most 5 points below the backdoored model's (paired non-inferiority).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.papers._claims import gate, load_recipe, main, mean_precondition, paired, power_precondition, run_seeds
from contrastkit.papers._common import PAPERS_ROOT
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def victim_recipe(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe of the victim's miniature (``victim.recipe``, e.g. ``cleanclip``)."""
    return load_recipe(PAPERS_ROOT / cfg["victim"]["recipe"] / "recipe.yaml")


def image_tower(model: Any) -> nn.Sequential:
    """``image_head(image_encoder(x))`` of a trained CLIP as one module (the parts shared, not copied)."""
    return nn.Sequential(model.image_encoder, model.image_head)


def candidate_layers(tower: nn.Sequential) -> list[nn.Module]:
    """The candidate layers of the mini-CLIP image tower: the output (ReLU) of each conv block and the
    global pool (InverTune's candidates are ResNet ``layer1..4``; this tower has two blocks)."""
    enc = tower[0]
    relus = [m for m in enc.features if isinstance(m, nn.ReLU)]
    return [*relus, enc.pool]


@torch.no_grad()
def zero_shot_metrics(tower: nn.Module, class_emb: Tensor, images: Tensor, labels: Tensor, target: int,
                      trigger: Any) -> dict[str, float]:
    """Zero-shot clean accuracy and ASR of ``trigger`` (a callable on images) on the test images."""
    from contrastkit.backdoor import zero_shot_backdoor
    from contrastkit.papers._multimodal import _embed

    tower.eval()
    return zero_shot_backdoor(_embed(tower, images), _embed(tower, trigger(images)), class_emb, labels, target)


def run_seed(cfg: dict[str, Any], seed: int, quick: bool = False) -> dict[str, Any]:
    """One seed: victim, the three stages, and the metrics before and after tuning."""
    from contrastkit.backdoor.inversion import (
        InversionWeights,
        identify_target,
        invert_trigger,
        paste_patch,
        predict,
        universal_patch,
    )
    from contrastkit.papers.cleanclip.reproduce import train_poisoned_clip
    from contrastkit.papers.invertune.module import activation_tune

    q = cfg["quick"] if quick else {}
    victim, data = train_poisoned_clip(victim_recipe(cfg), seed, quick)
    tower = image_tower(victim).eval()
    with torch.no_grad():
        class_emb = victim.encode_tokens(data.prompt_tokens)
    x, y = data.clean_images, data.clean_labels
    assert y is not None  # the CleanCLIP miniature keeps the defender's labels
    ti, inv, tu = cfg["target_identification"], cfg["inversion"], cfg["tuning"]

    patch, box = universal_patch(tower, class_emb, x, y, size=ti["patch_size"], location=ti["location"],
                                 margin=ti["margin"], steps=q.get("uap_steps", ti["steps"]), lr=ti["lr"], seed=seed)
    report = identify_target(predict(tower, class_emb, x), predict(tower, class_emb, paste_patch(x, patch, box)),
                             len(class_emb), top=ti["top"])
    target = report.target
    trig = invert_trigger(tower, class_emb, x[y != target], target, x[y == target],
                          steps=q.get("inversion_steps", inv["steps"]), lr=inv["lr"], batch_size=inv["batch_size"],
                          init_mask=inv["init_mask"], weights=InversionWeights(**inv["weights"]), seed=seed)
    batch = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:tu["batch_size"]]
    tuned, info = activation_tune(tower, candidate_layers(tower), x[batch], trig.mask, trig.pattern,
                                  n_layers=tu["n_layers"], steps=q.get("tuning_steps", tu["steps"]), lr=tu["lr"],
                                  weight_decay=tu["weight_decay"], feature_weight=tu["feature_weight"], seed=seed)
    te, ty, planted = data.test_images, data.test_labels, data.target
    before = zero_shot_metrics(tower, class_emb, te, ty, planted, data.trigger)
    after = zero_shot_metrics(tuned, class_emb, te, ty, planted, data.trigger)
    inverted = zero_shot_metrics(tower, class_emb, te, ty, target, trig)
    # diagnostic arm, not available to a defender: stage 3 tuned against the real trigger's mask and pattern
    blank = torch.zeros(1, *x.shape[1:])
    real_mask = ((data.trigger(blank) != 0) | (data.trigger(torch.ones_like(blank)) != 1)).float()[0]
    oracle, _ = activation_tune(tower, candidate_layers(tower), x[batch], real_mask, data.trigger(blank)[0],
                                n_layers=tu["n_layers"], steps=q.get("tuning_steps", tu["steps"]), lr=tu["lr"],
                                weight_decay=tu["weight_decay"], feature_weight=tu["feature_weight"], seed=seed)
    with_real = zero_shot_metrics(oracle, class_emb, te, ty, planted, data.trigger)
    return {"target_found": float(target == planted), "identified_target": float(target),
            "uap_share_increase": report.increase[target], "inverted_asr": inverted["asr"],
            "inverted_mask_fraction": trig.mask_fraction, "ca_before": before["clean_accuracy"],
            "asr_before": before["asr"], "ca_after": after["clean_accuracy"], "asr_after": after["asr"],
            "asr_relative_reduction": 1 - after["asr"] / before["asr"] if before["asr"] > 0 else 0.0,
            "oracle_asr_after": with_real["asr"], "oracle_ca_after": with_real["clean_accuracy"],
            "critical_layers": info["layers"], "critical_units": info["units"], "mask": trig.mask,
            "pattern": trig.pattern}


def save_victim(folder: str | Path, seed: int = 0, *, poisoned: bool = True, epochs: int | None = None,
                recipe: str | Path = RECIPE) -> Path:
    """Train the miniature's mini-CLIP (poisoned, or ``poisoned=False``: the same design without poison) and
    write it with :func:`contrastkit.pretrained.save_pretrained`, its metadata naming the audit data
    (``data``: sklearn digits upsampled x2) and the zero-shot class prompts (``class_prompt_tokens``) — a
    model for ``contrastkit audit``. ``epochs`` overrides the pre-training epochs (a faster, weaker victim)."""
    from contrastkit.papers.cleanclip.reproduce import train_poisoned_clip
    from contrastkit.pretrained import save_pretrained

    vcfg = victim_recipe(load_recipe(recipe))
    if not poisoned:
        vcfg["attack"]["rate"] = 0
    if epochs is not None:
        vcfg["pretrain"]["epochs"] = epochs
    model, data = train_poisoned_clip(vcfg, seed)
    meta = {"data": {"dataset": "digits", "upsample": vcfg["data"]["upsample"]},
            "class_prompt_tokens": data.prompt_tokens.tolist(), "class_prompts": data.class_prompts,
            "poisoned": poisoned, "seed": seed}
    return save_pretrained(model, folder, metadata=meta)


SCALARS = ("target_found", "identified_target", "uap_share_increase", "inverted_asr", "inverted_mask_fraction",
           "ca_before", "asr_before", "ca_after", "asr_after", "asr_relative_reduction", "oracle_asr_after",
           "oracle_ca_after")


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Run the miniature over the recipe's seeds and decide the claims."""
    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    per_seed = [run_seed(cfg, s, quick) for s in run_seeds(cfg, quick, seeds)]
    v = {k: [float(r[k]) for r in per_seed] for k in SCALARS}
    return decide(cfg, v, quick)


def decide(cfg: dict[str, Any], v: dict[str, list[float]], quick: bool) -> ReproResult:
    """Precondition and claims from the per-seed values ``v`` (fractions; see :data:`SCALARS`)."""
    c = cfg["claims"]
    n = len(v["asr_before"])
    found = int(sum(v["target_found"]))
    reduction = paired(v["asr_relative_reduction"], [0.0] * n, c["asr_reduction"])
    keep = paired(v["ca_after"], v["ca_before"], c["clean_accuracy"])
    red_name = "real-trigger ASR falls by >= 80 % relative after tuning"
    claims = [
        mean_precondition("the victim is backdoored (mean real-trigger ASR)", v["asr_before"], c["poisoned_asr_min"],
                          "ASR"),
        Claim(f"the planted target is identified in >= {c['target_found_min']} of the seeds",
              found >= c["target_found_min"],
              f"found in {found} of {n} seeds (identified {[int(t) for t in v['identified_target']]}; UAP share "
              f"increase of the identified class {fmt(v['uap_share_increase'], 100)} points)"),
        power_precondition("the relative ASR reduction", reduction, c["asr_reduction"]["paper_effect"], scale=100,
                           unit=" %", guards=red_name),
        Claim.from_test(red_name, reduction, scale=100, unit=" %",
                        note=f"ASR {fmt(v['asr_before'], 100)}% -> {fmt(v['asr_after'], 100)}%; inverted trigger "
                             f"ASR {fmt(v['inverted_asr'], 100)}% at mask {fmt(v['inverted_mask_fraction'], 100)}% "
                             "of the image"),
        Claim.from_test("clean accuracy at most 5 points below the backdoored model", keep, scale=100,
                        unit=" points", note=f"{fmt(v['ca_before'], 100)}% -> {fmt(v['ca_after'], 100)}%"),
    ]
    if "oracle_asr_after" in v:
        claims.append(Claim("diagnostic: stage 3 tuned against the real trigger (reported)", True,
                            f"ASR {fmt(v['asr_before'], 100)}% -> {fmt(v['oracle_asr_after'], 100)}%, clean accuracy "
                            f"{fmt(v['oracle_ca_after'], 100)}% (a defender has only the inverted trigger)",
                            gating=False))
    metrics = {k: {"values": vals} for k, vals in v.items()}
    return ReproResult("invertune", gate(claims, quick), metrics, quick)


def redecide(metrics: dict[str, Any], quick: bool) -> ReproResult:
    """Decide the claims from stored per-seed metrics (``--merge``), training nothing."""
    return decide(load_recipe(RECIPE), {k: list(m["values"]) for k, m in metrics.items()}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce, redecide=redecide))
