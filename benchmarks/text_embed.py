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
2. **Top-10 search at 100k x 384.** A seeded Gaussian mixture (1000 centres, unit rows; random unclustered
   vectors would give an inverted file nothing to exploit) and ``--queries`` queries from the same mixture:
   numpy brute force (all inner products in blocks of 256 queries, ``argpartition``, sort) vs faiss
   ``IndexFlatIP`` (exact) and ``IndexIVFFlat`` (contrastkit's defaults: ``nlist = round(sqrt(N))``,
   ``nprobe = nlist // 16``; approximate, so its recall@10 against the exact top 10 is reported), one thread.
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


def mixture(n: int, d: int, centres: int, seed: int) -> np.ndarray:
    """``(n, d)`` float32 unit rows: a random unit centre plus Gaussian noise of norm ~0.6, normalised."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = c[rng.integers(0, centres, n)] + rng.standard_normal((n, d)).astype(np.float32) * (0.6 / np.sqrt(d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def numpy_top_k(q: np.ndarray, x: np.ndarray, k: int, block: int = 256) -> np.ndarray:
    ids = np.empty((q.shape[0], k), dtype=np.int64)
    for s in range(0, q.shape[0], block):
        sims = q[s:s + block] @ x.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
        ids[s:s + block] = np.take_along_axis(part, order, 1)
    return ids


def bench_search(n: int, d: int, n_queries: int, k: int, rounds: int) -> dict[str, Any]:
    import faiss

    from contrastkit.evaluate.corpus_retrieval import build_index, ivf_defaults

    faiss.omp_set_num_threads(1)
    corpus = mixture(n, d, 1000, seed=0)
    rng = np.random.default_rng(1)
    queries = corpus[rng.choice(n, n_queries, replace=False)] + rng.standard_normal((n_queries, d)).astype(
        np.float32) * (0.3 / np.sqrt(d))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
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
    for probe in sorted({max(1, nlist // 32), nprobe, max(1, nlist // 8), max(1, nlist // 4)}):
        ivf.nprobe = probe
        c, w, (_, ids) = _cpu_wall(lambda: ivf.search(queries, k))
        sweep.append({"nprobe": probe, "cpu_s": c, "speedup_cpu_over_numpy": best["numpy_cpu"] / c,
                      "recall_at_k_vs_numpy": recall(ids)})
    ivf.nprobe = nprobe
    return {
        "nprobe_sweep": sweep,
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
    ap.add_argument("--quick", action="store_true", help="seconds: 64 texts, a 5k corpus, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.texts, args.corpus, args.queries, args.rounds = 64, 5000, 100, 1
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    embed = bench_embed(args.texts, args.batch_size, args.max_length, args.rounds)
    search = bench_search(args.corpus, args.dim, args.queries, 10, args.rounds)
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
