"""Shared parts of the generation reproductions (SimCTG, RankGen, CLAPS): documented synthetic
languages, so they install and run offline in minutes on a CPU, and the per-seed runner.

* **Markov language** (``markov_table``): an order-2 Markov chain over ``V`` tokens, each context
  ``(a, b)`` has 6 successors with fixed random weights. Optionally every document draws a latent
  topic ``t`` (token ``v`` belongs to topic ``v % T``) and successors of topic ``t`` get their weight
  multiplied by ``topic_bias`` (RankGen's world).
* **Seq2seq mapping** (``mapping_pairs``): source = 8-16 tokens over a 40-word vocabulary, target =
  a fixed token-wise mapping with adjacent pairs swapped and one length-dependent token appended.

Each reproduction checks the paper's claim over ``seeds`` (mean ± std in ``metrics``). The quick variants
(1 seed, tiny budgets, < 60 s) are smoke tests: their claims are reported but never gating.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from contrastkit.reproduce.result import Claim, fmt


def markov_table(vocab: int = 200, successors: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(next_ids (V, V, s), log_weights (V, V, s))`` of an order-2 Markov language."""
    g = torch.Generator().manual_seed(10_000 + seed)
    nxt = torch.randint(0, vocab, (vocab, vocab, successors), generator=g)
    logw = torch.randn(vocab, vocab, successors, generator=g)
    return nxt, logw


def markov_documents(n: int, length: int, table: tuple[torch.Tensor, torch.Tensor], *, seed: int,
                     topics: int = 0, topic_bias: float = 5.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(docs (n, length), topic (n,))`` sampled from the Markov table (topic -1 when ``topics=0``)."""
    nxt, logw = table
    V = nxt.shape[0]
    g = torch.Generator().manual_seed(seed)
    docs = torch.empty(n, length, dtype=torch.long)
    docs[:, :2] = torch.randint(0, V, (n, 2), generator=g)
    topic = torch.randint(0, topics, (n,), generator=g) if topics else torch.full((n,), -1)
    rows = torch.arange(n)
    for t in range(2, length):
        cand = nxt[docs[:, t - 2], docs[:, t - 1]]  # (n, s)
        w = logw[docs[:, t - 2], docs[:, t - 1]]
        if topics:
            w = w + torch.log(torch.tensor(topic_bias)) * (cand % topics == topic[:, None])
        pick = torch.multinomial(torch.softmax(w, -1), 1, generator=g)[:, 0]
        docs[:, t] = cand[rows, pick]
    return docs, topic


def mapping_pairs(n: int, *, seed: int, noise: float = 0.0) -> tuple[list[list[int]], list[list[int]]]:
    """Sources and targets of the seq2seq mapping task (ids: pad 0, EOS 1, words 3..42, length 44..51).

    ``noise`` substitutes that fraction of source tokens by random words (targets stay clean).
    """
    g = torch.Generator().manual_seed(seed)
    g_noise = torch.Generator().manual_seed(seed + 7_777_777)  # separate stream: same pairs with/without noise
    srcs, tgts = [], []
    for _ in range(n):
        length = int(torch.randint(8, 17, (1,), generator=g))
        words = torch.randint(0, 40, (length,), generator=g)
        mapped = [3 + (int(w) * 7 + 5) % 40 for w in words]
        for i in range(0, length - 1, 2):
            mapped[i], mapped[i + 1] = mapped[i + 1], mapped[i]
        tgt = mapped + [44 + length % 8, 1]
        src = [3 + int(w) for w in words]
        if noise > 0:
            flip = torch.rand(length, generator=g_noise) < noise
            repl = torch.randint(0, 40, (length,), generator=g_noise)
            src = [3 + int(r) if f else s for s, f, r in zip(src, flip, repl, strict=True)]
        srcs.append(src + [1])
        tgts.append(tgt)
    return srcs, tgts


def _pad(seqs: Sequence[Sequence[int]], value: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), value, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def _texts(ids: torch.Tensor) -> list[str]:
    return [" ".join(f"t{v}" for v in row) for row in ids.tolist()]


def _run_seeds(worker: Any, seeds: Sequence[int], quick: bool, processes: int) -> tuple[dict[str, list[float]],
                                                                                       float]:
    """Run ``worker(seed, quick) -> {metric: value}`` per seed (in ``processes`` worker processes when > 1;
    seeds are independent). Returns the per-metric value lists in seed order and the CPU seconds used."""
    c0 = time.process_time()
    pooled = processes > 1 and len(seeds) > 1
    if pooled:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(processes, len(seeds)), mp_context=mp.get_context("spawn"),
                                 initializer=torch.set_num_threads, initargs=(torch.get_num_threads(),)) as pool:
            rows = list(pool.map(worker, seeds, [quick] * len(seeds)))
    else:
        rows = [worker(seed, quick) for seed in seeds]
    per: dict[str, list[float]] = {}
    for row in rows:
        for key, v in row.items():
            per.setdefault(key, []).append(v)
    worker_cpu = per.pop("_cpu_seconds", [])
    cpu = time.process_time() - c0 + (sum(worker_cpu) if pooled else 0.0)
    return per, cpu


def _metrics(per: dict[str, list[float]], t0: float, cpu: float, seeds: Sequence[int]) -> dict[str, Any]:
    metrics: dict[str, Any] = {k: {"values": v, "mean±std": fmt(v, digits=3)} for k, v in per.items()}
    metrics["seeds"] = list(seeds)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["cpu_seconds"] = cpu
    return metrics


def _claim(name: str, values: list[bool], detail: str, quick: bool) -> Claim:
    return Claim(name, all(values), detail + f" (holds in {sum(values)}/{len(values)} seeds)", gating=not quick)


def _gpt2(vocab: int, seed: int, n_positions: int = 128, n_embd: int = 64, n_layer: int = 2,
          n_head: int = 4) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                                      n_head=n_head,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None,
                                      eos_token_id=None))


def _train_lm(docs: torch.Tensor, *, seed: int, steps: int, simctg_margin: float | None, batch: int = 16,
              lr: float = 3e-3, vocab: int = 200, model_kwargs: dict[str, int] | None = None) -> torch.nn.Module:
    from contrastkit.generation.simctg import simctg_lm_loss
    from contrastkit.training.loop import fit_steps

    model = _gpt2(vocab, seed, **(model_kwargs or {})).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)

    def step(_: int) -> torch.Tensor:
        x = docs[torch.randint(0, docs.shape[0], (batch,), generator=g)]
        if simctg_margin is None:
            logits = model(input_ids=x).logits[:, :-1]
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        return simctg_lm_loss(model, x, margin=simctg_margin)["loss"]

    return fit_steps(model, step, opt, steps)

