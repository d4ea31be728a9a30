"""CLAPS (Lee, Lee & Hwang, ICLR 2021, "Contrastive Learning with Adversarial Perturbations for
Conditional Text Generation") in miniature: a tiny T5 pretrained once as a denoising autoencoder, then
fine-tuned per seed with MLE, MLE + naive in-batch contrastive, and CLAPS (perturbations on the
rescaled decoder states, as the official code).

Preconditions (``not testable`` when one fails): the fine-tuned MLE baseline learns the task; the
design's MDE is at most the paper's effect. Claim: CLAPS's noisy-source token accuracy > MLE's
(paired one-sided t-test over seeds).
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.papers._generation import _pad
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def denoising_pair(words: list[int], *, mask_prob: float, mask_token: int, generator: torch.Generator,
                   eos: int = 1) -> tuple[list[int], list[int]]:
    """A denoising-autoencoder pretraining pair (BART's token masking; Lewis et al., ACL 2020, §2.2).

    Each word is replaced by ``mask_token`` with probability ``mask_prob`` in the source (at least one
    is); the target is the original sequence. Returns ``(source + [eos], words + [eos])``.
    """
    if not 0 < mask_prob < 1:
        raise ValueError(f"mask_prob: expected a probability in (0, 1), got {mask_prob!r}")
    flip = torch.rand(len(words), generator=generator) < mask_prob
    if not flip.any():
        flip[int(torch.randint(0, len(words), (1,), generator=generator))] = True
    src = [mask_token if f else w for w, f in zip(words, flip.tolist(), strict=True)]
    return src + [eos], list(words) + [eos]


def _seq2seq_eval(model: torch.nn.Module, srcs: list[list[int]], tgts: list[list[int]]) -> tuple[float, float]:
    """Greedy decoding (``contrastive_search`` with k = 1): ``(token accuracy, exact match)``."""
    from contrastkit.generation.contrastive_search import contrastive_search

    ids, mask = _pad(srcs)
    out = contrastive_search(model, ids, mask, top_k=1, penalty_alpha=0.0,
                             max_new_tokens=max(len(t) for t in tgts), eos_token_id=1, pad_token_id=0)[:, 1:]
    correct = total = exact = 0
    for row, tgt in zip(out.tolist(), tgts, strict=True):
        row = row + [0] * max(0, len(tgt) - len(row))
        hits = sum(int(a == b) for a, b in zip(row, tgt, strict=False))
        correct += hits
        total += len(tgt)
        exact += int(hits == len(tgt))
    return correct / total, exact / len(tgts)


def _t5(cfg: dict[str, Any]) -> torch.nn.Module:
    from transformers import T5Config, T5ForConditionalGeneration

    return T5ForConditionalGeneration(T5Config(**cfg["model"], dropout_rate=0.0, decoder_start_token_id=0,
                                               pad_token_id=0, eos_token_id=1))


def _train(model: torch.nn.Module, srcs: list[list[int]], tgts: list[list[int]], *, steps: int, batch_size: int,
           lr: float, seed: int) -> None:
    from contrastkit.training.loop import fit_steps

    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed + 1)
    model.train()

    def step(_: int) -> torch.Tensor:
        idx = torch.randint(0, len(srcs), (batch_size,), generator=g).tolist()
        x, m = _pad([srcs[i] for i in idx])
        y, ym = _pad([tgts[i] for i in idx])
        out = model(x, m, y.masked_fill(ym == 0, -100))
        return out["loss"] if isinstance(out, dict) else out.loss

    fit_steps(model, step, opt, steps)


def pretrain(cfg: dict[str, Any], quick: bool) -> dict[str, torch.Tensor]:
    """State dict of the tiny T5 after denoising pretraining on word sequences (one checkpoint)."""
    from contrastkit.generation.claps import CLAPS

    p = cfg["pretrain"]
    g = torch.Generator().manual_seed(p["seed"])
    srcs, tgts = [], []
    lo, hi = p["sequence_words"]
    for _ in range(cfg["quick"]["pretrain_sequences"] if quick else p["n_sequences"]):
        length = int(torch.randint(lo, hi + 1, (1,), generator=g))
        words = (p["first_word"] + torch.randint(0, p["n_words"], (length,), generator=g)).tolist()
        s, t = denoising_pair(words, mask_prob=p["mask_prob"], mask_token=p["mask_token"], generator=g)
        srcs.append(s)
        tgts.append(t)
    torch.manual_seed(p["seed"])
    t5 = _t5(cfg)
    steps = cfg["quick"]["pretrain_steps"] if quick else p["steps"]
    _train(CLAPS(t5, mode="mle"), srcs, tgts, steps=steps, batch_size=p["batch_size"], lr=p["lr"], seed=p["seed"])
    return copy.deepcopy(t5.state_dict())


def _finetune_arm(cfg: dict[str, Any], arm: str, seed: int, quick: bool, init: dict[str, torch.Tensor],
                  data: dict[str, Any]) -> dict[str, float]:
    from contrastkit.generation.claps import CLAPS

    f, spec = cfg["finetune"], dict(cfg["arms"][arm])
    torch.manual_seed(seed)
    t5 = _t5(cfg)
    t5.load_state_dict(init)
    model = CLAPS(t5, **spec)
    steps = cfg["quick"]["finetune_steps"] if quick else f["steps"]
    _train(model, *data["train"], steps=steps, batch_size=f["batch_size"], lr=f["lr"], seed=seed)
    t5.eval()
    out = {}
    for split in ("clean", "noisy"):
        acc, em = _seq2seq_eval(t5, *data[split])
        out[f"{split}_token_acc"], out[f"{split}_exact"] = acc, em
    return out


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Pretrain once, fine-tune every arm on every seed, decide the preconditions and the claim."""
    from contrastkit.papers._generation import mapping_pairs

    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    init = pretrain(cfg, quick)
    n_test = cfg["quick"]["n_test"] if quick else cfg["eval"]["n_test"]
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        print(f"seed {seed} ...", file=sys.stderr, flush=True)
        data = {"train": mapping_pairs(cfg["quick"]["n_train"] if quick else cfg["finetune"]["n_train"], seed=seed),
                "clean": mapping_pairs(n_test, seed=seed + 1000),
                "noisy": mapping_pairs(n_test, seed=seed + 1000, noise=cfg["eval"]["noise"])}
        for arm in cfg["arms"]:
            for k, v in _finetune_arm(cfg, arm, seed, quick, init, data).items():
                rows.setdefault(arm, {}).setdefault(k, []).append(v)
    result = decide(cfg, rows, quick)
    result.metrics |= {"seeds": list(seeds), "seconds": time.perf_counter() - t0,
                       "cpu_seconds": time.process_time() - c0}
    return result


def decide(cfg: dict[str, Any], rows: dict[str, dict[str, list[float]]], quick: bool) -> ReproResult:
    """Preconditions and claim from per-seed accuracies ``rows[arm][metric]``."""
    c = cfg["claims"]
    mle, cl = rows["mle"], rows["claps"]
    base = sum(mle["clean_token_acc"]) / len(mle["clean_token_acc"])
    test = paired(cl["noisy_token_acc"], mle["noisy_token_acc"], c["vs_mle"])
    claims = [
        Claim("the fine-tuned MLE baseline learns the task (clean token accuracy)",
              base >= c["baseline_clean_acc_min"],
              f"MLE clean token acc {fmt(mle['clean_token_acc'], 100)}% (min {c['baseline_clean_acc_min']:.0%})",
              precondition=True),
        power_precondition("CLAPS - MLE noisy token accuracy", test, c["vs_mle"]["paper_effect"], scale=100,
                           unit=" points"),
        Claim.from_test("CLAPS noisy-source token accuracy > MLE", test, scale=100, unit=" points",
                        note=f"CLAPS {fmt(cl['noisy_token_acc'], 100)}% vs MLE {fmt(mle['noisy_token_acc'], 100)}%"),
        Claim.from_test("CLAPS clean token accuracy > MLE (reported)",
                        paired(cl["clean_token_acc"], mle["clean_token_acc"], c["vs_mle"]), scale=100,
                        unit=" points", gating=False),
        Claim("all arms (reported)", True, "; ".join(
            f"{arm}: " + ", ".join(f"{k} {fmt(v, 100)}%" for k, v in r.items()) for arm, r in rows.items()),
            gating=False),
    ]
    return ReproResult("claps", gate(claims, quick), {"accuracy": rows}, quick)


def redecide(metrics: dict[str, Any], quick: bool = False) -> ReproResult:
    """The claims of stored (merged) per-seed metrics, training nothing (``--merge``)."""
    result = decide(load_recipe(RECIPE), metrics["accuracy"], quick)
    result.metrics |= {k: v for k, v in metrics.items() if k != "accuracy"}
    return result


if __name__ == "__main__":
    raise SystemExit(main(reproduce, redecide=redecide))
