"""HICL (Tan et al., 2023, "HICL: Hashtag-Driven In-Context Learning for Social Media Natural Language
Understanding") in miniature on Debian fortunes, fortune categories standing in for hashtags.

Per seed: a #Encoder (top layer of all-MiniLM-L6-v2, lower layers frozen and cached) is trained with
category-supervised InfoNCE on the database posts; every task post retrieves its top-1 database post
through faiss, with the #Encoder and with the off-the-shelf MiniLM (topic precision@1 = the retrieved post
has the query's category). A small classifier is trained on the task posts alone, and on
``post + 5 trigger tokens + retrieved post`` (stage 1 all weights, stage 2 trigger rows only).

Claims (paired over seeds): #Encoder topic precision@1 > MiniLM's; macro-F1 with retrieved context >
without. Power is stated as the MDE of each comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.papers.mnrl_moe.reproduce import _merged
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def category_pool(data: dict[str, Any], quick: bool) -> tuple[list[str], Tensor, list[str], str]:
    """``(texts, labels (n,), category names, corpus)``: ``per_category`` fortunes of each category (the
    2-class mini 20 Newsgroups in a quick run without Debian fortunes)."""
    from contrastkit.text import corpora

    corpus = data["corpus"]
    if corpus == "fortunes" and quick and not corpora.fortunes_available() and data.get("fallback_corpus"):
        corpus = data["fallback_corpus"]
    if corpus == "fortunes":
        texts, labels, names = corpora.fortunes(data["categories"], max_chars=data["max_chars"],
                                                per_category=data["per_category"], seed=data["pool_seed"])
    elif corpus == "newsgroups":
        all_texts, all_labels, names = corpora.newsgroups_mini()
        keep = [i for c in range(len(names)) for i in (all_labels == c).nonzero()[0][:data["per_category"]]]
        texts = [" ".join(all_texts[i].split()[:40]) for i in keep]
        labels = all_labels[keep]
    else:
        raise ValueError(f"data.corpus: expected 'fortunes' or 'newsgroups', got {corpus!r}")
    y = torch.as_tensor(labels, dtype=torch.long)
    for c in range(len(names)):
        need = data["n_task_train"] + data["n_task_test"] + 1
        if int((y == c).sum()) < need:
            raise ValueError(f"data.per_category: category {names[c]!r} has {int((y == c).sum())} texts, need "
                             f">= {need}")
    return list(texts), y, list(names), corpus


def split_rows(labels: Tensor, n_train: int, n_test: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(database, task-train, task-test)`` rows: per category ``n_train`` / ``n_test`` task rows, the rest
    database, drawn with ``seed``."""
    gen = torch.Generator().manual_seed(20_000 + seed)
    db, tr, te = [], [], []
    for c in torch.unique(labels).tolist():
        rows = (labels == c).nonzero(as_tuple=True)[0]
        rows = rows[torch.randperm(len(rows), generator=gen)]
        tr.append(rows[:n_train])
        te.append(rows[n_train:n_train + n_test])
        db.append(rows[n_train + n_test:])
    return torch.cat(db), torch.cat(tr), torch.cat(te)


def topic_precision_at_1(retrieved: Tensor, query_labels: Tensor, db_labels: Tensor) -> float:
    """Fraction of queries whose top-1 database post has the query's category."""
    return float((db_labels[retrieved] == query_labels).double().mean())


def _embed(top: Any, states: Tensor, mask: Tensor) -> Tensor:
    top.eval()
    with torch.no_grad():
        return torch.cat([top(states[i:i + 256], mask[i:i + 256]) for i in range(0, len(states), 256)])


def train_hash_encoder(encoder: Any, states: Tensor, mask: Tensor, labels: Tensor, cfg: dict[str, Any],
                       seed: int) -> Any:
    """The #Encoder's trained top layer (:class:`~contrastkit.papers.hicl.module.HashEncoder` through
    :func:`~contrastkit.training.fit`)."""
    from contrastkit.papers.hicl.module import HashEncoder
    from contrastkit.text.moe import TopLayers
    from contrastkit.training import fit

    e = cfg["encoder"]
    torch.manual_seed(seed)
    module = HashEncoder(TopLayers(encoder, e["n_top"]), states, mask, labels, temperature=e["temperature"],
                         batch_size=min(e["batch_size"], len(labels)), lr=e["lr"], weight_decay=e["weight_decay"],
                         seed=seed)
    fit(module.train(), max_steps=e["max_steps"])
    return module.top


def classifier_f1(cfg: dict[str, Any], tokenizer: Any, texts: list[str], labels: Tensor, train: Tensor, test: Tensor,
                  contexts: list[str] | None, n_classes: int, seed: int) -> float:
    """Macro-F1 on ``test`` of the classifier trained on ``train`` (with ``contexts[i]`` retrieved for post
    ``i`` and trigger tokens, two stages; without: stage 1 on the post alone)."""
    from sklearn.metrics import f1_score

    from contrastkit.papers.hicl.module import TinyClassifier, predict, train_classifier, trigger_inputs

    c = cfg["classifier"]

    def inputs(rows: Tensor) -> tuple[Tensor, Tensor]:
        ctx = None if contexts is None else [contexts[i] for i in rows.tolist()]
        return trigger_inputs(tokenizer, [texts[i] for i in rows.tolist()], ctx, n_triggers=c["n_triggers"],
                              max_length=c["max_length"])

    (ids, mask), (tids, tmask) = inputs(train), inputs(test)
    torch.manual_seed(seed)
    base = len(tokenizer)
    model = TinyClassifier(base + c["n_triggers"], n_classes, hidden=c["hidden"], layers=c["layers"],
                           heads=c["heads"], max_length=c["max_length"])
    train_classifier(model, ids, mask, labels[train], epochs=c["epochs"], batch_size=c["batch_size"], lr=c["lr"],
                     weight_decay=c["weight_decay"], seed=seed)
    if contexts is not None:
        train_classifier(model, ids, mask, labels[train], epochs=c["stage2_epochs"], batch_size=c["batch_size"],
                         lr=c["stage2_lr"], seed=seed + 1, trigger_rows_from=base)
    pred = predict(model, tids, tmask)
    return float(f1_score(labels[test].numpy(), pred.numpy(), average="macro", labels=list(range(n_classes)),
                          zero_division=0))


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Per seed: #Encoder, retrieval with both encoders, classifier arms; then the claims (module doc)."""
    from contrastkit.papers.hicl.module import retrieve_top1
    from contrastkit.text import TextEncoder
    from contrastkit.text.moe import TopLayers, lower_states

    torch.set_num_threads(1)
    raw = load_recipe(recipe)
    seeds = run_seeds(raw, quick, seeds)
    cfg = _merged(raw, quick)
    d = cfg["data"]
    texts, labels, names, corpus = category_pool(d, quick)
    encoder = TextEncoder.from_pretrained(max_length=cfg["encoder"]["max_length"])
    states, mask = lower_states(encoder, texts, cfg["encoder"]["n_top"])
    minilm = _embed(TopLayers(encoder, cfg["encoder"]["n_top"]), states, mask)  # = the off-the-shelf MiniLM
    p1: dict[str, list[float]] = {arm: [] for arm in cfg["arms"]["retrieval"]}
    f1: dict[str, list[float]] = {arm: [] for arm in cfg["arms"]["classifier"]}
    for seed in seeds:
        db, tr, te = split_rows(labels, d["n_task_train"], d["n_task_test"], seed)
        hash_top = train_hash_encoder(encoder, states[db], mask[db], labels[db], cfg, seed)
        emb = {"minilm": minilm, "hash": _embed(hash_top, states, mask)}
        task = torch.cat([tr, te])
        contexts: dict[str, list[str]] = {}
        for arm in cfg["arms"]["retrieval"]:
            top1 = db[retrieve_top1(emb[arm][task], emb[arm][db])]
            p1[arm].append(topic_precision_at_1(top1[len(tr):], labels[te], labels))
            ctx = [""] * len(texts)
            for q, r in zip(task.tolist(), top1.tolist(), strict=True):
                ctx[q] = texts[r]
            contexts[arm] = ctx
        for arm in cfg["arms"]["classifier"]:
            ctx = None if arm == "no_context" else contexts[arm.removesuffix("_context")]
            f1[arm].append(classifier_f1(cfg, encoder.tokenizer, texts, labels, tr, te, ctx, len(names), seed))
    return decide(raw, p1, f1, quick, corpus)


def decide(cfg: dict[str, Any], p1: dict[str, list[float]], f1: dict[str, list[float]], quick: bool,
           corpus: str = "fortunes") -> ReproResult:
    """The two paired claims (with their power preconditions) from per-seed topic precision@1 ``p1[arm]``
    and macro-F1 ``f1[arm]``."""
    c = cfg["claims"]
    ret = paired(p1["hash"], p1["minilm"], c["retrieval"])
    cls = paired(f1["hash_context"], f1["no_context"], c["classifier"])
    r_name = "#Encoder topic precision@1 > off-the-shelf MiniLM"
    c_name = "classifier macro-F1 with retrieved context (#Encoder, triggers) > without"
    claims = [
        power_precondition("topic precision@1", ret, c["retrieval"]["effect_of_interest"], scale=100,
                           unit=" points", guards=r_name),
        Claim.from_test(r_name, ret, scale=100, unit=" points",
                        note=f"#Encoder {fmt(p1['hash'], 100)}% vs MiniLM {fmt(p1['minilm'], 100)}%"),
        power_precondition("classifier macro-F1", cls, c["classifier"]["paper_effect"], scale=100, unit=" points",
                           guards=c_name),
        Claim.from_test(c_name, cls, scale=100, unit=" points",
                        note=f"with {fmt(f1['hash_context'], 100)} vs without {fmt(f1['no_context'], 100)}"
                             + (f"; MiniLM-retrieved context {fmt(f1['minilm_context'], 100)}"
                                if "minilm_context" in f1 else "")),
    ]
    metrics: dict[str, Any] = {"corpus": corpus}
    for arm, vals in p1.items():
        metrics[f"topic_p@1/{arm}"] = {"values": vals, "mean": sum(vals) / len(vals)}
    for arm, vals in f1.items():
        metrics[f"macro_f1/{arm}"] = {"values": vals, "mean": sum(vals) / len(vals)}
    return ReproResult("hicl", gate(claims, quick), metrics, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
