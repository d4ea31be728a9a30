"""Sequential-recommendation reproductions on MovieLens-100k (RecBole atomic files from the ``recbole`` wheel).

Protocol: RecBole's (chronological leave-one-out, full ranking over all items, no sampled negatives), NDCG@10
on the test split of the state with the best validation NDCG@10. Settings:
``papers/{cl4srec,sra_cl,mclrec}/recipe.yaml`` (the single source of every setting and claim).
Measured figures: ``docs/seqrec.md``.

- :func:`cl4srec` (Xie et al., ICDE 2022): CL4SRec > SASRec;
- :func:`sra_cl` (Cui et al., NeurIPS 2025): SRA-CL > CL4SRec > SASRec;
- :func:`mclrec` (Qin et al., SIGIR 2023): MCLRec > CL4SRec > SASRec at batch 256, and MCLRec's gain over
  CL4SRec larger at batch 64 than at 256.

Every (method, batch size, seed) run is stored as JSON under ``<cache>/seqrec/runs`` keyed by a hash of its
full settings, so the three reproductions share their SASRec / CL4SRec runs; ``use_cache=False`` retrains;
``cached_only=True`` trains nothing and reports the runs made so far (a claim whose runs are missing is
``not run``: untestable, never held or failed).
Published reference: the only RecBole-protocol SASRec figure on ml-100k found is the model card
``viberec/ML-100k-SASRec-Base`` on the Hugging Face hub (RecBole SASRec, ``LS: valid_and_test``, ``order: TO``,
``mode: full``; **1 training epoch**, items filtered to ``[10, inf)`` interactions): test NDCG@10 0.0157,
HR@10 0.0351. It is printed next to every figure, for what it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from contrastkit.papers._common import recipe_value as _get
from contrastkit.reproduce.result import Claim, ReproResult, fmt, mean_std
from contrastkit.reproduce.stats import paired_comparison

PUBLISHED = {"source": "huggingface.co/viberec/ML-100k-SASRec-Base (RecBole SASRec, 1 epoch, item 10-core)",
             "NDCG@10": 0.0157, "HR@10": 0.0351}
_METHODS = ("sasrec", "cl4srec", "mclrec", "sra_cl")
# Part of every run's cache key: bumped when the training code changes what a run computes, so that stale
# runs are not reused (v2: StepModule rows / per-step reseeding; MCLRec's per-anchor R over three pairs).
RUN_PROTOCOL = "v2"


# ------------------------------------------------------------------------------------------ settings
def _schema() -> type:
    """The strict schema shared by the three seqrec recipes (built on first use: pydantic stays a lazy import)."""
    from typing import Annotated, Literal

    from pydantic import Field

    from contrastkit.papers._schema import (
        FiniteFloat,
        PositiveFloat,
        PositiveInt,
        Section,
        StrictSeed,
        TrainingSectionRecipe,
    )

    Prob = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]

    class Dataset(Section):
        source: str
        name: str
        max_len: PositiveInt
        k_core: PositiveInt | None
        split: str

    class Encoder(Section):
        hidden_size: PositiveInt
        n_layers: PositiveInt
        n_heads: PositiveInt
        inner_size: PositiveInt
        dropout: Prob

    class SASRec(Section):
        pass

    class ViewContrast(Section):
        """The InfoNCE between two augmented views and CL4SRec's augmentation rates (both methods)."""
        temperature: PositiveFloat
        similarity: str
        crop: Prob
        mask: Prob
        reorder: Prob

    class CL4SRec(ViewContrast):
        cl_weight: FiniteFloat

    class MCLRec(ViewContrast):
        # MCLRec's own weights under the official code's names (lambda on L_cl1, beta on L_cl2 + R), so that
        # CL4SRec's cl_weight is never MCLRec's lambda
        lmd: FiniteFloat
        beta: FiniteFloat
        reg_factor: FiniteFloat
        aug_lr: PositiveFloat

    class SRACL(Section):
        alpha: FiniteFloat
        beta: FiniteFloat
        substitute_p: Prob
        item_k: PositiveInt
        user_k: PositiveInt
        temperature: PositiveFloat
        similarity: str
        attention_dropout: Prob

    class Methods(Section):
        sasrec: SASRec
        cl4srec: CL4SRec
        mclrec: MCLRec
        sra_cl: SRACL

    class Training(Section):
        methods: list[Literal["sasrec", "cl4srec", "mclrec", "sra_cl"]] = Field(min_length=1)
        batch_sizes: list[PositiveInt] = Field(min_length=1)
        lr: PositiveFloat
        epochs: PositiveInt
        eval_every: PositiveInt
        windows: Literal["all"] | PositiveInt
        max_users: PositiveInt | None
        seeds: list[StrictSeed] = Field(min_length=1)

    class Gain(Section):
        method: str
        baseline: str

    class Claims(Section):
        metric: str
        # [method, baseline, batch size]
        beats: list[Annotated[list[str | PositiveInt], Field(min_length=3, max_length=3)]] = Field(min_length=1)
        larger_gain_at_small_batch: Gain | None = None

    class SeqRecRecipe(TrainingSectionRecipe):
        """``papers/{cl4srec,mclrec,sra_cl}/recipe.yaml``."""

        dataset: Dataset
        encoder: Encoder
        methods: Methods
        training: Training
        claims: Claims

    return SeqRecRecipe


def load_recipe(name: str) -> dict[str, Any]:
    """The plain-data recipe ``papers/<pkg>/recipe.yaml`` (the bounded safe loader
    :func:`contrastkit._yaml.load_yaml`); its ``name`` must match."""
    from contrastkit._yaml import load_yaml
    from contrastkit.papers._common import recipe_path
    from contrastkit.papers._schema import RecipeError

    path = recipe_path(name)
    recipe = load_yaml(Path(path), source=str(path))
    if not isinstance(recipe, dict) or recipe.get("name") != name:
        raise RecipeError(f"recipe {name!r}: expected a mapping with 'name: {name}'")
    check_recipe(name, recipe)
    return recipe


def check_recipe(name: str, recipe: dict[str, Any]) -> None:
    """Validate ``recipe`` and its quick variant strictly (unknown key / wrong type: a
    :class:`contrastkit.papers._schema.RecipeError` naming the dotted key)."""
    from contrastkit.papers._schema import parse_paper_recipe

    parse_paper_recipe(recipe, _schema(), source=f"recipe {name!r}", quick_into="training")


def seqrec_settings(recipe: dict[str, Any], quick: bool = False) -> dict[str, Any]:
    """Every setting of a seqrec reproduction, read from its recipe (``quick`` applies the overrides)."""
    def get(path: str) -> Any:
        return _get(recipe, path, quick)

    methods = list(get("training.methods"))
    bad = [m for m in methods if m not in _METHODS]
    if bad:
        raise ValueError(f"recipe {recipe.get('name')!r}: unknown methods {bad}; expected a subset of {_METHODS}")
    return {
        "dataset": get("dataset.name"),
        "max_len": get("dataset.max_len"),
        "k_core": get("dataset.k_core"),
        "max_users": get("training.max_users"),
        "encoder": {k: get(f"encoder.{k}") for k in ("hidden_size", "n_layers", "n_heads", "inner_size", "dropout")},
        "methods": methods,
        "hyper": {m: dict(get(f"methods.{m}")) for m in methods},
        "batch_sizes": [int(b) for b in get("training.batch_sizes")],
        "lr": get("training.lr"),
        "epochs": get("training.epochs"),
        "eval_every": get("training.eval_every"),
        "windows": get("training.windows"),
        "claims": dict(get("claims")),
    }


def _seeds(recipe: dict[str, Any], quick: bool, seeds: Sequence[int] | None) -> tuple[int, ...]:
    chosen = tuple(_get(recipe, "training.seeds") if seeds is None else seeds)
    return chosen[:1] if quick else chosen


# ------------------------------------------------------------------------------------------ data
_DATA: dict[tuple[Any, ...], Any] = {}


def _data(s: dict[str, Any]) -> Any:
    from contrastkit.seqrec.data import build_sequences, load_atomic, recbole_dataset_dir

    key = (s["dataset"], s["max_len"], s["k_core"], s["max_users"])
    if key not in _DATA:
        atomic = load_atomic(recbole_dataset_dir(s["dataset"]))
        if s["max_users"]:
            keep = atomic.inter["user_id"].drop_duplicates().iloc[: int(s["max_users"])]
            atomic.inter = atomic.inter[atomic.inter["user_id"].isin(keep)]
        _DATA[key] = build_sequences(atomic, max_len=s["max_len"], k=s["k_core"])
    return _DATA[key]


def _semantic(data: Any, hyper: dict[str, Any]) -> dict[str, torch.Tensor]:
    from contrastkit.seqrec.semantic import (
        encode_texts,
        item_neighbour_table,
        item_texts,
        nearest_neighbours,
        user_texts,
    )

    items, users = encode_texts(item_texts(data)), encode_texts(user_texts(data))
    return {"item_neighbours": item_neighbour_table(items, int(hyper["item_k"])),
            "user_neighbours": nearest_neighbours(users, int(hyper["user_k"])), "user_semantic": users,
            "user_sequences": data.train_sequences()}


def _module(method: str, data: Any, s: dict[str, Any], seed: int) -> Any:
    from contrastkit.methods.sasrec import SASRecModule
    from contrastkit.papers.cl4srec.module import CL4SRec
    from contrastkit.papers.mclrec.module import MCLRec
    from contrastkit.papers.sra_cl.module import SRACL
    from contrastkit.seqrec.encoders import SASRec

    torch.manual_seed(seed)
    enc = SASRec(data.n_items, data.max_len, validate=False, **s["encoder"])
    hp = dict(s["hyper"][method])
    if method == "sasrec":
        return SASRecModule(enc, lr=s["lr"])
    if method == "cl4srec":
        return CL4SRec(enc, lr=s["lr"], seed=seed, **hp)
    if method == "mclrec":
        return MCLRec(enc, lr=s["lr"], seed=seed, **hp)
    sem = _semantic(data, hp)
    hp.pop("item_k")
    hp.pop("user_k")
    return SRACL(enc, lr=s["lr"], seed=seed, **sem, **hp)


def run_key(method: str, batch_size: int, seed: int, s: dict[str, Any]) -> str:
    """Hash of everything that determines a run (so reproductions can share runs)."""
    spec = {k: s[k] for k in ("dataset", "max_len", "k_core", "max_users", "encoder", "lr", "epochs",
                              "eval_every", "windows")}
    spec |= {"method": method, "hyper": s["hyper"].get(method, {}), "batch_size": batch_size, "seed": seed,
             "protocol": RUN_PROTOCOL}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_path(method: str, batch_size: int, seed: int, s: dict[str, Any]) -> Any:
    """Where the result of one (method, batch size, seed) run is cached."""
    from contrastkit.seqrec.semantic import cache_dir

    key = run_key(method, batch_size, seed, s)
    return cache_dir() / "seqrec" / "runs" / f"{method}-b{batch_size}-s{seed}-{key}.json"


def run_one(method: str, batch_size: int, seed: int, s: dict[str, Any], *, use_cache: bool = True) -> dict[str, Any]:
    """Train and evaluate one (method, batch size, seed); the result dict is cached on disk."""
    from contrastkit.methods.seqrec_fit import fit_seqrec

    torch.set_num_threads(1)
    path = run_path(method, batch_size, seed, s)
    if use_cache and path.is_file():
        return json.loads(path.read_text())
    data = _data(s)
    module = _module(method, data, s, seed)
    run = fit_seqrec(module, data, epochs=int(s["epochs"]), batch_size=batch_size, seed=seed,
                     windows=s["windows"], eval_every=int(s["eval_every"]))
    out = asdict(run) | {"method": method, "batch_size": batch_size, "seed": seed}
    path.parent.mkdir(parents=True, exist_ok=True)
    # atomic: a concurrent reader (another process running the same reproduction) never sees half a file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, path)
    return out


def cached_run(method: str, batch_size: int, seed: int, s: dict[str, Any]) -> dict[str, Any] | None:
    """The cached result of one run, or ``None`` when it has not been run."""
    path = run_path(method, batch_size, seed, s)
    return json.loads(path.read_text()) if path.is_file() else None


def popularity(s: dict[str, Any]) -> dict[str, float]:
    """Test metrics of ranking items by their training-set popularity (the precondition's floor)."""
    from contrastkit.evaluate.ranking import ranking_metrics

    data = _data(s)
    counts = torch.zeros(data.n_items)
    for seq in data.sequences:
        train = torch.as_tensor(seq[:-2] - 1)
        counts.index_add_(0, train, torch.ones(len(train)))
    _, targets = data.eval_inputs("test")
    return ranking_metrics(counts.expand(data.n_users, -1).contiguous(), targets - 1)


# ------------------------------------------------------------------------------------------ reproduction
def _reproduce(name: str, quick: bool, seeds: Sequence[int] | None, use_cache: bool,
               cached_only: bool = False) -> ReproResult:
    recipe = load_recipe(name)
    s = seqrec_settings(recipe, quick)
    seeds = _seeds(recipe, quick, seeds)
    start = time.time()
    runs: dict[str, dict[int, list[dict[str, Any] | None]]] = {m: {} for m in s["methods"]}
    for batch_size in s["batch_sizes"]:
        for method in s["methods"]:
            if method in ("sasrec", "sra_cl") and batch_size != s["batch_sizes"][0]:
                continue  # only the batch-size claim needs the second batch size, for CL4SRec and MCLRec
            runs[method][batch_size] = [cached_run(method, batch_size, seed, s) if cached_only else
                                        run_one(method, batch_size, seed, s, use_cache=use_cache) for seed in seeds]
    metric = s["claims"].get("metric", "NDCG@10")
    b0 = s["batch_sizes"][0]

    def values(method: str, batch_size: int = b0) -> list[float] | None:
        rs = runs[method][batch_size]
        return None if any(r is None for r in rs) else [r["test"][metric] for r in rs]  # type: ignore[index]

    result = ReproResult(name, quick=quick)

    def not_run(claim: str, *needed: tuple[str, int]) -> None:
        # runs missing (cached_only): the claim is reported as untestable, never as held or failed
        have = ", ".join(f"{m}@{b}: {sum(r is not None for r in runs[m][b])}/{len(seeds)} seeds" for m, b in needed)
        result.claims.append(Claim(f"{claim}: runs available", False, f"not run ({have})", precondition=True,
                                   gating=not quick, guards=claim))
        result.claims.append(Claim(claim, False, f"not run ({have})", gating=not quick))

    pop = popularity(s)
    sas = values("sasrec")
    pre = f"SASRec {metric} > popularity ({pop[metric]:.4f})"
    if sas is None:
        result.claims.append(Claim(pre, False, "not run", precondition=True, gating=not quick))
    else:
        result.claims.append(Claim.from_test(pre, paired_comparison(sas, [pop[metric]] * len(sas)), precondition=True,
                                             gating=not quick, note=f"SASRec {fmt(sas, 1, 4)}"))
    for winner, loser, batch_size in s["claims"]["beats"]:
        w, lo = values(winner, batch_size), values(loser, batch_size)
        claim = f"{winner} > {loser} on test {metric} (batch {batch_size})"
        if w is None or lo is None:
            not_run(claim, (winner, batch_size), (loser, batch_size))
            continue
        result.claims.append(Claim.from_test(
            claim, paired_comparison(w, lo), gating=not quick,
            note=f"{winner} {fmt(w, 1, 4)} vs {loser} {fmt(lo, 1, 4)}; published RecBole SASRec ml-100k "
                 f"{PUBLISHED[metric]:.4f}" if metric in PUBLISHED else ""))
    gap = s["claims"].get("larger_gain_at_small_batch")
    if gap:
        method, base = gap["method"], gap["baseline"]
        small, large = min(s["batch_sizes"]), max(s["batch_sizes"])
        claim = f"{method}'s gain over {base} larger at batch {small} than at batch {large}"
        parts = [values(method, small), values(base, small), values(method, large), values(base, large)]
        if any(p is None for p in parts):
            not_run(claim, (method, small), (base, small), (method, large), (base, large))
        else:
            ms, bs, ml, bl = parts
            g_small = [a - b for a, b in zip(ms, bs, strict=True)]  # type: ignore[arg-type]
            g_large = [a - b for a, b in zip(ml, bl, strict=True)]  # type: ignore[arg-type]
            result.claims.append(Claim.from_test(
                claim, paired_comparison(g_small, g_large), gating=not quick,
                note=f"gain@{small} {fmt(g_small, 1, 4)}, gain@{large} {fmt(g_large, 1, 4)}"))
    table = {}
    for method, by_batch in runs.items():
        for batch_size, all_runs in by_batch.items():
            rs = [r for r in all_runs if r is not None]
            if not rs:
                continue
            cell: dict[str, Any] = {"seeds": [r.get("seed") for r in rs]}
            for key in ("HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR"):
                m, sd = mean_std([r["test"][key] for r in rs])
                cell[key] = [m, sd]
            cell["per_seed_" + metric] = [r["test"][metric] for r in rs]
            cell["sequences_per_second"] = mean_std([r["sequences_per_second"] for r in rs])[0]
            cell["seconds"] = mean_std([r["seconds"] for r in rs])[0]
            cell["best_epoch"] = [r["best_epoch"] for r in rs]
            table[f"{method}@{batch_size}"] = cell
    result.metrics = {"test": table, "popularity": pop, "published_sasrec_ml100k": PUBLISHED,
                      "seeds": list(seeds), "settings": {k: v for k, v in s.items() if k != "claims"},
                      "cached_only": cached_only, "seconds": time.time() - start}
    return result


def cl4srec(quick: bool = False, seeds: Sequence[int] | None = None, use_cache: bool = True,
            cached_only: bool = False) -> ReproResult:
    """CL4SRec vs SASRec on ml-100k (``papers/cl4srec/recipe.yaml``)."""
    return _reproduce("cl4srec", quick, seeds, use_cache, cached_only)


def sra_cl(quick: bool = False, seeds: Sequence[int] | None = None, use_cache: bool = True,
           cached_only: bool = False) -> ReproResult:
    """SRA-CL vs CL4SRec vs SASRec on ml-100k (``papers/sra_cl/recipe.yaml``)."""
    return _reproduce("sra-cl", quick, seeds, use_cache, cached_only)


def mclrec(quick: bool = False, seeds: Sequence[int] | None = None, use_cache: bool = True,
           cached_only: bool = False) -> ReproResult:
    """MCLRec vs CL4SRec vs SASRec on ml-100k at two batch sizes (``papers/mclrec/recipe.yaml``)."""
    return _reproduce("mclrec", quick, seeds, use_cache, cached_only)


__all__ = ["PUBLISHED", "cached_run", "cl4srec", "mclrec", "popularity", "run_key", "run_one", "run_path",
           "seqrec_settings", "sra_cl"]
