"""MNRL + mixture of experts with enforced domain routing (Hallee et al., 2024, "Contrastive Learning and
Mixture of Experts Enables Precise Vector Embeddings") in miniature on Debian fortunes.

Domains are fortune categories; a pair is the two halves of one fortune. Three arms on the same per-seed
splits: the off-the-shelf all-MiniLM-L6-v2 (``base``), one fine-tuned top layer shared by every domain
(``shared``), and the same top layer with its feed-forward block copied into one expert per domain and
enforced routing (``moe``). Lower layers are frozen and their states cached (see ``recipe.yaml``).

Evaluation per domain on held-out fortunes: top-1 retrieval of the second half among the domain's test
halves (faiss, P@1 and MRR) and max-F1 of the pair classification true halves vs halves of another fortune.
Precondition: the shared model learns. Claim: MoE >= shared on every domain and both metrics (paired
non-inferiority over seeds, tolerance = the paper's MoE-shared gap; power stated as the MDE).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def _merged(cfg: dict[str, Any], quick: bool) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in cfg.items()}
    if quick:
        for key, value in cfg.get("quick", {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = {**out[key], **value}
            else:
                out[key] = value
    return out


def halves(text: str) -> tuple[str, str]:
    """The first and second half of ``text`` by whitespace words (the first gets the smaller half)."""
    words = text.split()
    if len(words) < 2:
        raise ValueError(f"text: expected at least 2 words to split, got {text!r}")
    cut = len(words) // 2
    return " ".join(words[:cut]), " ".join(words[cut:])


def domain_pool(data: dict[str, Any], quick: bool) -> tuple[list[str], list[str], Tensor, list[str], str]:
    """``(anchors, positives, domains (n,), domain names, corpus)``: ``per_domain`` fortunes of each domain
    with at least ``min_words`` words, split into halves. In a quick run without Debian fortunes, the mini
    20 Newsgroups (its 2 groups as domains) stands in."""
    from contrastkit.text import corpora

    corpus = data["corpus"]
    if corpus == "fortunes" and quick and not corpora.fortunes_available() and data.get("fallback_corpus"):
        corpus = data["fallback_corpus"]
    if corpus == "fortunes":
        texts, labels, names = corpora.fortunes(data["domains"], max_chars=data["max_chars"])
    elif corpus == "newsgroups":
        texts, labels, names = corpora.newsgroups_mini()
        texts = [" ".join(t.split()[:60]) for t in texts]  # long posts: keep halves within max_length
    else:
        raise ValueError(f"data.corpus: expected 'fortunes' or 'newsgroups', got {corpus!r}")
    gen = torch.Generator().manual_seed(int(data["pool_seed"]))
    anchors, positives, domains = [], [], []
    for d in range(len(names)):
        rows = [i for i in torch.randperm(len(texts), generator=gen).tolist()
                if labels[i] == d and len(texts[i].split()) >= data["min_words"]]
        if len(rows) < data["per_domain"]:
            raise ValueError(f"data.per_domain: domain {names[d]!r} has only {len(rows)} texts with >= "
                             f"{data['min_words']} words, need {data['per_domain']}")
        for i in rows[:data["per_domain"]]:
            a, p = halves(texts[i])
            anchors.append(a)
            positives.append(p)
            domains.append(d)
    return anchors, positives, torch.tensor(domains), list(names), corpus


def split_rows(domains: Tensor, n_test: int, seed: int) -> tuple[Tensor, Tensor]:
    """``(train rows, test rows)``: ``n_test`` rows of every domain in test, drawn with ``seed``."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    train, test = [], []
    for d in torch.unique(domains).tolist():
        rows = (domains == d).nonzero(as_tuple=True)[0]
        rows = rows[torch.randperm(len(rows), generator=gen)]
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return torch.cat(train), torch.cat(test)


def pair_metrics(a: Tensor, p: Tensor) -> dict[str, float]:
    """Retrieval of ``p[i]`` by ``a[i]`` among all ``p`` (faiss; P@1, MRR) and max-F1 of true pairs
    ``(a_i, p_i)`` vs mismatched pairs ``(a_i, p_{i+1 mod n})`` by cosine similarity."""
    from contrastkit import evaluate as ev
    from contrastkit.functional import normalize

    a, p = normalize(a.double()).float(), normalize(p.double()).float()
    n = a.shape[0]
    ret = ev.corpus_retrieval_metrics(a, p, torch.arange(n), ks=(1,), backend="faiss")
    pos = (a * p).sum(1)
    neg = (a * p.roll(-1, dims=0)).sum(1)
    f1 = ev.max_f1(torch.cat([pos, neg]), torch.cat([torch.ones(n), torch.zeros(n)]))
    return {"P@1": ret["P@1"], "MRR": ret["MRR"], "max_f1": float(f1)}


def _embed(module: Any, states: Tensor, mask: Tensor, domains: Tensor) -> Tensor:
    module.eval()
    with torch.no_grad():
        return torch.cat([module.embed(states[i:i + 256], mask[i:i + 256], domains[i:i + 256])
                          for i in range(0, len(states), 256)])


def run_arm(arm: dict[str, Any], cfg: dict[str, Any], encoder: Any, cache: dict[str, Tensor], train: Tensor,
            seed: int, n_domains: int) -> Any:
    """The trained (or untrained ``base``) module of one arm on the rows ``train`` of the pair cache."""
    from contrastkit.papers.mnrl_moe.module import PairMNRL
    from contrastkit.text.moe import TopLayers, convert_to_domain_experts
    from contrastkit.training import fit

    tr = cfg["trainer"]
    torch.manual_seed(seed)
    top = TopLayers(encoder, cfg["model"]["n_top"])
    if arm["experts"]:
        convert_to_domain_experts(top, n_domains, layers=tuple(range(top.n_top)))
    module = PairMNRL(top, cache["a_states"][train], cache["a_mask"][train], cache["p_states"][train],
                      cache["p_mask"][train], cache["domains"][train], scale=tr["scale"],
                      batch_size=min(tr["batch_size"], len(train)), lr=tr["lr"], weight_decay=tr["weight_decay"],
                      seed=seed)
    if arm["train"]:
        fit(module.train(), max_steps=tr["max_steps"])  # the copied layers come in eval mode: dropout on
    return module


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Every arm on every seed, per-domain metrics, then the precondition and the claims (module doc)."""
    from contrastkit.text import TextEncoder
    from contrastkit.text.moe import lower_states

    torch.set_num_threads(1)
    raw = load_recipe(recipe)
    seeds = run_seeds(raw, quick, seeds)
    cfg = _merged(raw, quick)
    anchors, positives, domains, names, corpus = domain_pool(cfg["data"], quick)
    encoder = TextEncoder.from_pretrained(max_length=cfg["model"]["max_length"])
    n_top = cfg["model"]["n_top"]
    a_states, a_mask = lower_states(encoder, anchors, n_top)
    p_states, p_mask = lower_states(encoder, positives, n_top)
    cache = {"a_states": a_states, "a_mask": a_mask, "p_states": p_states, "p_mask": p_mask, "domains": domains}
    # values[arm][domain][metric] = per-seed list
    values: dict[str, dict[str, dict[str, list[float]]]] = {
        arm: {d: {"P@1": [], "MRR": [], "max_f1": []} for d in names} for arm in cfg["arms"]}
    for seed in seeds:
        train, test = split_rows(domains, cfg["data"]["n_test"], seed)
        for arm_name, arm in cfg["arms"].items():
            module = run_arm(arm, cfg, encoder, cache, train, seed, len(names))
            for d, name in enumerate(names):
                rows = test[domains[test] == d]
                dom = domains[rows]
                a = _embed(module, a_states[rows], a_mask[rows], dom)
                p = _embed(module, p_states[rows], p_mask[rows], dom)
                for metric, value in pair_metrics(a, p).items():
                    values[arm_name][name][metric].append(value)
    return decide(raw, values, names, quick, corpus)


def _domain_mean(values: dict[str, dict[str, list[float]]], metric: str) -> list[float]:
    per = [v[metric] for v in values.values()]
    return [sum(col) / len(col) for col in zip(*per, strict=True)]


def decide(cfg: dict[str, Any], values: dict[str, dict[str, dict[str, list[float]]]], names: list[str],
           quick: bool, corpus: str = "fortunes") -> ReproResult:
    """Precondition (shared beats base on the domain-mean metric) and the per-domain MoE >= shared claims
    from ``values[arm][domain][metric]`` per-seed lists."""
    c = cfg["claims"]
    s = c["shared_learns"]
    learn = paired(_domain_mean(values["shared"], s["metric"]), _domain_mean(values["base"], s["metric"]), s)
    claims = [Claim.from_test(f"the shared fine-tuned model learns (domain-mean {s['metric']} > off-the-shelf "
                              "MiniLM)", learn, scale=100, unit=" points", precondition=True,
                              note=f"shared {fmt(_domain_mean(values['shared'], s['metric']), 100)} vs base "
                                   f"{fmt(_domain_mean(values['base'], s['metric']), 100)}")]
    spec = c["moe_vs_shared"]
    for metric in spec["metrics"]:
        for name in names:
            moe, shared = values["moe"][name][metric], values["shared"][name][metric]
            test = paired(moe, shared, spec)
            label = f"MoE {metric} >= shared - {-spec['margin']:.2g} on domain {name}"
            claims.append(power_precondition(f"{metric} on {name}", test, spec["paper_effect"], scale=100,
                                             unit=" points", guards=label))
            claims.append(Claim.from_test(label, test, scale=100, unit=" points",
                                          note=f"MoE {fmt(moe, 100)} vs shared {fmt(shared, 100)}"))
    metrics: dict[str, Any] = {"corpus": corpus}
    for arm, per in values.items():
        for name, ms in per.items():
            for metric, vals in ms.items():
                metrics[f"{arm}/{name}/{metric}"] = {"values": vals, "mean": sum(vals) / len(vals)}
    return ReproResult("mnrl-moe", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
