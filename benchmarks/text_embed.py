"""Text embedding and search speed: ``contrastkit embed`` vs ``SentenceTransformer.encode``, faiss vs numpy.

Run from the repository root::

    .venv/bin/python benchmarks/text_embed.py --json benchmarks/results/text_embed.json

1. **Embedding throughput.** The packaged all-MiniLM-L6-v2, the same ``--texts`` sentences (the first
   sentences of gensim's Lee background corpus), batch size, ``max_length`` = ``max_seq_length`` and one
   torch thread on both sides: ``TextEncoder.encode`` (what ``contrastkit embed`` runs) vs
   ``SentenceTransformer.encode(normalize_embeddings=True)``; also the whole ``contrastkit embed`` command
   (read the file, load the model, encode, write the index) vs ST's load + encode. The two sides alternate
   for ``--rounds`` rounds and the minimum **process CPU time** per side is kept (the machine is shared:
   CPU time is what the process itself spent; the wall time is stored too). The embeddings are compared.
2. **Top-10 search at 100k x 384** on each ``--corpora`` set (:func:`corpus_and_queries`: uniform on the
   sphere, Gaussian mixtures with independent queries, and the earlier, flattering set of tight clusters
   queried near their own rows): numpy brute force (all inner products in blocks of 256 queries,
   ``argpartition``, sort) vs faiss ``IndexFlatIP`` (exact) and ``IndexIVFFlat`` (contrastkit's defaults,
   :func:`contrastkit.evaluate.corpus_retrieval.ivf_defaults`; approximate, so its recall@10 against the
   exact top 10 is reported), one thread, plus an ``nprobe`` sweep giving the smallest ``nprobe`` with
   recall@10 >= ``--min-recall``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _cpu_wall(fn: Any) -> tuple[float, float, Any]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def sentences(n: int) -> list[str]:
    from contrastkit.text.corpora import lee_background

    out: list[str] = []
    for doc in lee_background():
        out.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", doc) if len(s.split()) >= 4)
    if len(out) < n:
        raise SystemExit(f"--texts: the Lee background corpus has {len(out)} sentences, asked for {n}")
    return out[:n]


def bench_embed(n_texts: int, batch: int, max_length: int, rounds: int) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from contrastkit.text import TextEncoder, minilm_path
    from contrastkit.text.cli import _quiet_transformers, embed_command

    _quiet_transformers()
    texts = sentences(n_texts)
    ours = TextEncoder.from_pretrained(max_length=max_length)
    st = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    st.max_seq_length = max_length
    ours.encode(texts[:batch])  # warm-up (allocator, kernels)
    st.encode(texts[:batch], batch_size=batch)
    rec: dict[str, list[float]] = {k: [] for k in ("ck_cpu", "ck_wall", "st_cpu", "st_wall", "ck_cli_cpu",
                                                   "ck_cli_wall", "st_load_encode_cpu", "st_load_encode_wall")}
    tmp = Path(tempfile.mkdtemp())
    (tmp / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    emb_ck = emb_st = None
    for _ in range(rounds):
        c, w, emb_ck = _cpu_wall(lambda: ours.encode(texts, batch_size=batch))
        rec["ck_cpu"].append(c)
        rec["ck_wall"].append(w)
        c, w, emb_st = _cpu_wall(lambda: st.encode(texts, batch_size=batch, normalize_embeddings=True))
        rec["st_cpu"].append(c)
        rec["st_wall"].append(w)
        c, w, _ = _cpu_wall(lambda: embed_command(None, str(tmp / "texts.txt"), str(tmp / "emb.safetensors"),
                                                  batch_size=batch, max_length=max_length, progress=False))
        rec["ck_cli_cpu"].append(c)
        rec["ck_cli_wall"].append(w)

        def st_full() -> Any:
            m = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
            m.max_seq_length = max_length
            return m.encode(texts, batch_size=batch, normalize_embeddings=True)

        c, w, _ = _cpu_wall(st_full)
        rec["st_load_encode_cpu"].append(c)
        rec["st_load_encode_wall"].append(w)
    diff = float((emb_ck - torch.from_numpy(emb_st)).abs().max())
    best = {k: min(v) for k, v in rec.items()}
    return {
        "texts": n_texts, "batch_size": batch, "max_length": max_length, "rounds": rounds,
        "runs": rec, "best": best,
        "ck_texts_per_cpu_s": n_texts / best["ck_cpu"], "st_texts_per_cpu_s": n_texts / best["st_cpu"],
        "encode_cpu_ratio_ck_over_st": best["ck_cpu"] / best["st_cpu"],
        "cli_cpu_ratio_ck_over_st_load_encode": best["ck_cli_cpu"] / best["st_load_encode_cpu"],
        "max_abs_embedding_diff": diff,
    }


CORPORA = ("uniform", "mixture_wide", "mixture", "mixture_tight_nearby_queries")


def mixture(n: int, d: int, centres: int, spread: float, seed: int) -> np.ndarray:
    """``(n, d)`` float32 unit rows: a random unit centre plus Gaussian noise of norm ~``spread``, normalised
    (cosine to the centre ``1 / sqrt(1 + spread**2)``; two rows of one cluster ``1 / (1 + spread**2)``)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = c[rng.integers(0, centres, n)] + rng.standard_normal((n, d)).astype(np.float32) * (spread / np.sqrt(d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def corpus_and_queries(kind: str, n: int, d: int, n_queries: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``(corpus, queries, description)`` of one synthetic search set (all rows unit, float32).

    * ``uniform``: uniform on the unit sphere, queries drawn independently (no structure an inverted file
      can exploit: the hard case).
    * ``mixture``: 1000 Gaussian clusters of spread 1.0 (a row's cosine to its centre 0.71, within a cluster
      0.5, across clusters ~0), queries *independent* draws of the same mixture (not corpus rows): the
      clustered set the default ``nprobe`` is chosen on.
    * ``mixture_wide``: the same with spread 2.0 (cosine to centre 0.45, within a cluster 0.2): clusters
      that overlap, between the two.
    * ``mixture_tight_nearby_queries``: the earlier benchmark's set, which flatters an inverted file: tight
      clusters (spread 0.6, within-cluster cosine 0.74) and each query a corpus row plus small noise (its top
      10 sits inside its own cluster, around the row it was made from).
    """
    rng = np.random.default_rng(1)
    if kind == "uniform":
        corpus = _unit(np.random.default_rng(0).standard_normal((n, d)).astype(np.float32))
        return corpus, _unit(rng.standard_normal((n_queries, d)).astype(np.float32)), \
            "uniform on the unit sphere; independent uniform queries"
    if kind == "mixture":
        both = mixture(n + n_queries, d, 1000, 1.0, seed=0)
        return np.ascontiguousarray(both[:n]), np.ascontiguousarray(both[n:]), \
            "1000 Gaussian clusters, spread 1.0 (cosine to centre 0.71); independent queries from the mixture"
    if kind == "mixture_wide":
        both = mixture(n + n_queries, d, 1000, 2.0, seed=0)
        return np.ascontiguousarray(both[:n]), np.ascontiguousarray(both[n:]), \
            "1000 Gaussian clusters, spread 2.0 (cosine to centre 0.45); independent queries from the mixture"
    if kind == "mixture_tight_nearby_queries":
        corpus = mixture(n, d, 1000, 0.6, seed=0)
        queries = corpus[rng.choice(n, n_queries, replace=False)] + rng.standard_normal((n_queries, d)).astype(
            np.float32) * (0.3 / np.sqrt(d))
        return corpus, _unit(queries), ("1000 Gaussian clusters, spread 0.6 (cosine to centre 0.86); queries = "
                                        "corpus rows + noise of norm 0.3 (the earlier benchmark's set)")
    raise SystemExit(f"--corpora: expected some of {', '.join(CORPORA)}, got {kind!r}")


def numpy_top_k(q: np.ndarray, x: np.ndarray, k: int, block: int = 256) -> np.ndarray:
    ids = np.empty((q.shape[0], k), dtype=np.int64)
    for s in range(0, q.shape[0], block):
        sims = q[s:s + block] @ x.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
        ids[s:s + block] = np.take_along_axis(part, order, 1)
    return ids


def nprobe_grid(nlist: int) -> list[int]:
    """The probed-list counts of the sweep: powers of two and their 1.5x steps up to ``nlist``, and ``nlist``."""
    grid = {nlist}
    p = 1
    while p < nlist:
        grid.update({p, min(nlist, p + p // 2)})
        p *= 2
    return sorted(g for g in grid if g >= 1)


def bench_search(kind: str, n: int, d: int, n_queries: int, k: int, rounds: int,
                 min_recall: float) -> dict[str, Any]:
    import faiss

    from contrastkit.evaluate.corpus_retrieval import build_index, ivf_defaults

    faiss.omp_set_num_threads(1)
    corpus, queries, description = corpus_and_queries(kind, n, d, n_queries)
    c_flat, w_flat, flat = _cpu_wall(lambda: build_index(corpus, ivf_threshold=n + 1))
    c_ivf, w_ivf, ivf = _cpu_wall(lambda: build_index(corpus, ivf_threshold=n))
    rec: dict[str, list[float]] = {k_: [] for k_ in ("numpy_cpu", "numpy_wall", "flat_cpu", "flat_wall",
                                                     "ivf_cpu", "ivf_wall")}
    ids_np = ids_flat = ids_ivf = None
    for _ in range(rounds):
        c, w, ids_np = _cpu_wall(lambda: numpy_top_k(queries, corpus, k))
        rec["numpy_cpu"].append(c)
        rec["numpy_wall"].append(w)
        c, w, (_, ids_flat) = _cpu_wall(lambda: flat.search(queries, k))
        rec["flat_cpu"].append(c)
        rec["flat_wall"].append(w)
        c, w, (_, ids_ivf) = _cpu_wall(lambda: ivf.search(queries, k))
        rec["ivf_cpu"].append(c)
        rec["ivf_wall"].append(w)
    best = {k_: min(v) for k_, v in rec.items()}

    def recall(ids: np.ndarray) -> float:
        return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, ids_np, strict=True)]))

    nlist, nprobe = ivf_defaults(n)
    sweep = []  # the speed / recall trade-off of nprobe (one timing each, after the main rounds)
    for probe in nprobe_grid(nlist):
        ivf.nprobe = probe
        c, _, (_, ids) = _cpu_wall(lambda: ivf.search(queries, k))
        sweep.append({"nprobe": probe, "cpu_s": c, "speedup_cpu_over_numpy": best["numpy_cpu"] / c,
                      "recall_at_k_vs_numpy": recall(ids)})
    ivf.nprobe = nprobe
    enough = [row for row in sweep if row["recall_at_k_vs_numpy"] >= min_recall]
    return {
        "corpus_kind": kind, "description": description,
        "nprobe_sweep": sweep, "min_recall": min_recall,
        "smallest_nprobe_with_min_recall": enough[0]["nprobe"] if enough else None,
        "corpus": n, "dim": d, "queries": n_queries, "k": k, "rounds": rounds, "nlist": nlist, "nprobe": nprobe,
        "build_cpu_s": {"flat": c_flat, "ivf": c_ivf}, "build_wall_s": {"flat": w_flat, "ivf": w_ivf},
        "runs": rec, "best": best,
        "speedup_cpu_flat_over_numpy": best["numpy_cpu"] / best["flat_cpu"],
        "speedup_cpu_ivf_over_numpy": best["numpy_cpu"] / best["ivf_cpu"],
        "recall_at_k_flat_vs_numpy": recall(ids_flat), "recall_at_k_ivf_vs_numpy": recall(ids_ivf),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--corpus", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated search sets")
    ap.add_argument("--min-recall", type=float, default=0.99, help="recall@10 the nprobe sweep looks for")
    ap.add_argument("--skip-embed", action="store_true",
                    help="search only; keep the embed section of an existing --json file (marked as such)")
    ap.add_argument("--quick", action="store_true", help="seconds: 64 texts, a 5k corpus, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.texts, args.corpus, args.queries, args.rounds = 64, 5000, 100, 1
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    if args.skip_embed:
        old = json.loads(Path(args.json).read_text()) if args.json and Path(args.json).exists() else {}
        embed = old.get("embed", {})
        embed["measured"] = embed.get("measured", old.get("started"))  # the run the embed figures come from
    else:
        embed = bench_embed(args.texts, args.batch_size, args.max_length, args.rounds)
    search = {kind: bench_search(kind, args.corpus, args.dim, args.queries, 10, args.rounds, args.min_recall)
              for kind in args.corpora.split(",")}
    import faiss
    import sentence_transformers
    import transformers

    result = {
        "started": started, "load_average_start": load_start, "load_average_end": os.getloadavg(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__, "faiss": faiss.__version__,
                     "numpy": np.__version__},
        "quick": args.quick, "embed": embed, "search": search,
    }
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
