"""Reproduction of BEAT (visual backdoors on embodied agents via Contrastive Trigger Learning, 2025) in a grid
world: CTL after SFT raises step-level backdoor-activation F1 (fewer false activations on a look-alike
distractor), keeps benign success within 2 points and holds on unseen trigger placements.

Settings: ``papers/beat/recipe.yaml``; measured figures: ``papers/beat/README.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from contrastkit.losses import DPO
from contrastkit.papers._claims import gate, load_recipe, paired, power_precondition, run_seeds
from contrastkit.papers._common import PAPERS_ROOT
from contrastkit.papers.beat import module as gw
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def _merged(cfg: dict[str, Any], quick: bool) -> dict[str, Any]:
    out = copy.deepcopy(cfg)
    if quick:
        for key, value in cfg.get("quick", {}).items():
            if isinstance(value, dict):
                out[key] = out.get(key, {}) | value
            else:
                out[key] = value
    return out


def _eval_states(rng: np.random.Generator, n: int, kind: int, ood: bool = False) -> list[gw.State]:
    states = []
    for _ in range(n):
        states += [s for s, _ in gw.expert_trajectory(gw.random_state(rng, kind, ood=ood))]
    return states


def run_seed(cfg: dict[str, Any], seed: int) -> dict[str, float]:
    """One seed: data, SFT, CTL (from the same SFT policy), and the metrics of both arms."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    w, d, ev = cfg["world"], cfg["data"], cfg["evaluate"]
    shade = float(w["fork_shade"])
    states, actions, backdoor = gw.sft_data(rng, d["n_benign"], d["n_backdoor"], d["distractor_share"])
    policy = gw.Policy(cfg["model"]["width"], cfg["model"]["hidden"])
    s = cfg["sft"]
    gw.train_sft(policy, gw.encode(states, shade), torch.tensor(actions), steps=s["steps"],
                 batch_size=s["batch_size"], lr=s["lr"], seed=seed)
    c = cfg["ctl"]
    obs, chosen, rejected = gw.contrastive_pairs(backdoor, distractor=c["distractor_pairs"])
    ctl = gw.train_ctl(copy.deepcopy(policy), gw.encode(obs, shade), torch.tensor(chosen), torch.tensor(rejected),
                       DPO(beta=c["beta"], sft_weight=c["sft_weight"]), steps=c["steps"],
                       batch_size=c["batch_size"], lr=c["lr"], seed=seed)
    erng = np.random.default_rng(10_000 + seed)  # evaluation episodes: independent of the training draw
    n = ev["episodes"]
    benign_starts = [gw.random_state(erng, gw.FORK if i % 2 else gw.NONE) for i in range(n)]
    knife_starts = [gw.random_state(erng, gw.KNIFE) for _ in range(n)]
    ood_starts = [gw.random_state(erng, gw.KNIFE, ood=True) for _ in range(n)]
    m = ev["activation_episodes"]
    id_states = _eval_states(erng, m, gw.KNIFE) + _eval_states(erng, m, gw.FORK)
    ood_states = _eval_states(erng, m, gw.KNIFE, ood=True) + _eval_states(erng, m, gw.FORK)
    out: dict[str, float] = {"pairs": float(len(chosen))}
    for arm, p in (("sft", policy), ("ctl", ctl)):
        p.eval()
        act_id, act_ood = gw.activation_f1(p, id_states, shade), gw.activation_f1(p, ood_states, shade)
        out |= {f"{arm}_f1": act_id["f1"], f"{arm}_false_activation": act_id["false_activation"],
                f"{arm}_recall": act_id["recall"], f"{arm}_ood_f1": act_ood["f1"],
                f"{arm}_benign_success": gw.rollout_success(p, benign_starts, shade, "goal", w["max_steps"]),
                # the same episodes split: the benign task as SFT learnt it (no object in the scene) and the
                # look-alike scenes, where a false activation (walking to the fork) costs the episode
                f"{arm}_benign_task_success": gw.rollout_success(p, benign_starts[0::2], shade, "goal", w["max_steps"]),
                f"{arm}_fork_scene_success": gw.rollout_success(p, benign_starts[1::2], shade, "goal", w["max_steps"]),
                f"{arm}_asr": gw.rollout_success(p, knife_starts, shade, "placed", w["max_steps"]),
                f"{arm}_ood_asr": gw.rollout_success(p, ood_starts, shade, "placed", w["max_steps"])}
    return out


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """BEAT in miniature. Claims (paired over seeds): CTL's step-level activation F1 > SFT's; CTL's benign
    success >= SFT's - 2 points (non-inferiority); CTL's F1 > SFT's on unseen trigger placements. Power
    preconditions: each F1 comparison can detect the 10-point gain the miniature is designed for."""
    torch.set_num_threads(1)
    raw = load_recipe(PAPERS_ROOT / "beat" / "recipe.yaml")
    cfg = _merged(raw, quick)
    per_seed = [run_seed(cfg, s) for s in run_seeds(raw, quick, seeds)]
    v = {k: [r[k] for r in per_seed] for k in per_seed[0]}
    cl = cfg["claims"]
    f1 = paired(v["ctl_f1"], v["sft_f1"], cl["f1_gain"])
    ben = paired(v["ctl_benign_success"], v["sft_benign_success"], cl["benign_success"])
    ood = paired(v["ctl_ood_f1"], v["sft_ood_f1"], cl["ood_f1_gain"])
    f1_name, ood_name = "CTL raises step-level activation F1 over SFT", "CTL raises F1 on unseen trigger placements"
    ben_name = "CTL keeps benign success within 2 points of SFT"
    claims = [
        # measured on the trigger-free scenes without an object (the task SFT is trained on): in the look-alike
        # scenes a failure is a false activation on the fork, the effect CTL is claimed to reduce
        Claim("SFT learns the benign task (trigger-free scenes without a look-alike)",
              float(np.mean(v["sft_benign_task_success"])) >= cl["sft_learns_benign_min"],
              f"SFT benign-task success {fmt(v['sft_benign_task_success'], 100, 1)}% (min "
              f"{cl['sft_learns_benign_min']:.0%}); look-alike scenes {fmt(v['sft_fork_scene_success'], 100, 1)}%",
              precondition=True),
        power_precondition("activation F1", f1, cl["f1_gain"]["paper_effect"], scale=100, unit=" points",
                           guards=f1_name),
        power_precondition("OOD activation F1", ood, cl["ood_f1_gain"]["paper_effect"], scale=100,
                           unit=" points", guards=ood_name),
        Claim.from_test(f1_name, f1, scale=100, unit=" points",
                        note=f"F1 CTL {fmt(v['ctl_f1'], 100, 1)} vs SFT {fmt(v['sft_f1'], 100, 1)}; false "
                             f"activations {fmt(v['ctl_false_activation'], 100, 1)}% vs "
                             f"{fmt(v['sft_false_activation'], 100, 1)}%"),
        Claim.from_test(ben_name, ben, scale=100, unit=" points",
                        note=f"CTL {fmt(v['ctl_benign_success'], 100, 1)}% vs SFT "
                             f"{fmt(v['sft_benign_success'], 100, 1)}%"),
        Claim.from_test(ood_name, ood, scale=100, unit=" points",
                        note=f"OOD F1 CTL {fmt(v['ctl_ood_f1'], 100, 1)} vs SFT {fmt(v['sft_ood_f1'], 100, 1)}"),
        Claim("success in the look-alike scenes (reported)", True,
              f"CTL {fmt(v['ctl_fork_scene_success'], 100, 1)}% vs SFT {fmt(v['sft_fork_scene_success'], 100, 1)}%; "
              f"benign task without an object CTL {fmt(v['ctl_benign_task_success'], 100, 1)}% vs SFT "
              f"{fmt(v['sft_benign_task_success'], 100, 1)}%", gating=False),
        Claim("episode ASR (reported)", True,
              f"CTL {fmt(v['ctl_asr'], 100, 1)}% vs SFT {fmt(v['sft_asr'], 100, 1)}%; unseen placements CTL "
              f"{fmt(v['ctl_ood_asr'], 100, 1)}% vs SFT {fmt(v['sft_ood_asr'], 100, 1)}%", gating=False),
    ]
    metrics = {k: {"values": vals} for k, vals in v.items()}
    return ReproResult("beat", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
