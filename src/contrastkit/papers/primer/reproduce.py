"""Reproduction of the input-label contrast of "A Primer on Contrastive Pretraining in Language Processing"
(Rethmeier & Augenstein, ACM CSUR 2023) in miniature: zero-shot classification of held-out label names.

Settings: ``papers/primer/recipe.yaml``. Inputs (fortunes) and labels (category names) go through the same
text tower (frozen packaged MiniLM + a shared trainable linear map); training is input-label InfoNCE
(:class:`contrastkit.losses.InputLabelInfoNCE`, every seen label a candidate) through
:func:`contrastkit.losses.contrastive_pairs`. Held-out categories are never seen in training; their texts
are classified by the nearest held-out label text.

* claim (gating): mean zero-shot accuracy on the held-out labels >= ``factor`` x chance, and every seed's
  one-sided binomial test against chance has p < ``alpha``; reported: the untrained tower and seen-class
  accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from scipy import stats

from contrastkit.papers._claims import gate
from contrastkit.reproduce.result import Claim, ReproResult, fmt


def _accuracy(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor) -> float:
    f = torch.nn.functional.normalize(x @ w, dim=1)
    g = torch.nn.functional.normalize(labels @ w, dim=1)
    return float(((f @ g.T).argmax(1) == y).double().mean())


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None) -> ReproResult:
    """Input-label InfoNCE on the seen categories, zero-shot on the held-out ones (module docstring)."""
    from contrastkit.losses import InputLabelInfoNCE, contrastive_pairs
    from contrastkit.papers._claims import run_seeds
    from contrastkit.papers._text import load_text_recipe
    from contrastkit.text import cached_encode, corpora
    from contrastkit.training.loop import fit_steps

    torch.set_num_threads(1)
    recipe = load_text_recipe("primer", quick)
    chosen = run_seeds(recipe, False, seeds)
    d, t, c = recipe["data"], recipe["trainer"], recipe["claims"]["zero_shot"]
    chance = 1.0 / len(d["held_out"])
    loss_fn = InputLabelInfoNCE(t["temperature"])
    m: dict[str, list[float]] = {"zero_shot": [], "untrained_zero_shot": [], "seen_accuracy": [], "binomial_p": []}
    n_test = 0
    for seed in chosen:
        sets = {}
        for part in ("seen", "held_out"):
            texts, y, names = corpora.fortunes(d[part], per_category=d["per_category"], max_chars=d["max_chars"],
                                               seed=seed)
            label_texts = [n.replace("-", " and ") for n in names]
            sets[part] = (cached_encode(None, texts), torch.as_tensor(y), cached_encode(None, label_texts))
        x, y, g = sets["seen"]
        xh, yh, gh = sets["held_out"]
        n_test = len(yh)
        w = torch.eye(x.shape[1], requires_grad=True)
        m["untrained_zero_shot"].append(_accuracy(w.detach(), xh, yh, gh))
        opt = torch.optim.AdamW([w], lr=t["lr"])
        gen = torch.Generator().manual_seed(seed)

        def step(_: int, w=w, x=x, y=y, g=g, gen=gen) -> torch.Tensor:
            idx = torch.randperm(len(y), generator=gen)[:t["batch_size"]]
            return contrastive_pairs("input_label", loss_fn, x[idx] @ w, g @ w, labels=y[idx])

        fit_steps(None, step, opt, t["steps"])
        w = w.detach()
        acc = _accuracy(w, xh, yh, gh)
        m["zero_shot"].append(acc)
        m["seen_accuracy"].append(_accuracy(w, x, y, g))
        test = stats.binomtest(round(acc * n_test), n_test, chance, alternative="greater")
        m["binomial_p"].append(float(test.pvalue))
    mean = sum(m["zero_shot"]) / len(m["zero_shot"])
    ok = mean >= float(c["factor"]) * chance and max(m["binomial_p"]) < float(c["alpha"])
    claims = [Claim(f"zero-shot accuracy on the held-out labels {d['held_out']} >= {c['factor']} x chance "
                    f"({chance:.2f}), binomial p < {c['alpha']} on every seed", ok,
                    f"zero-shot {fmt(m['zero_shot'], digits=3)} (n = {n_test} texts per seed; binomial p max "
                    f"{max(m['binomial_p']):.1e}); untrained tower {fmt(m['untrained_zero_shot'], digits=3)}; "
                    f"seen-class accuracy {fmt(m['seen_accuracy'], digits=3)}")]
    metrics: dict[str, Any] = {k: {"values": v} for k, v in m.items()} | {"seeds": list(chosen), "chance": chance,
                                                                            "n_test": n_test}
    return ReproResult("primer", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    from contrastkit.papers._claims import main

    raise SystemExit(main(reproduce))
