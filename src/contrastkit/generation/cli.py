"""``contrastkit generate``: decode from a local transformers model folder (no hub access)."""

from __future__ import annotations

from pathlib import Path

import torch

STRATEGIES = ("contrastive", "greedy", "nucleus")


def load_local(model: str) -> tuple[torch.nn.Module, object]:
    """``(model, tokenizer)`` from a local folder with ``local_files_only=True`` (never the hub)."""
    path = Path(model)
    if not path.is_dir():
        raise FileNotFoundError(f"model: {model!r} is not a local folder (hub names are not downloaded)")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    cls = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
    lm = cls.from_pretrained(path, local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return lm, tok


def generate_text(lm: torch.nn.Module, tok: object, prompt: str, strategy: str = "contrastive", top_k: int = 4,
                  alpha: float = 0.6, max_new_tokens: int = 64, top_p: float = 0.95, seed: int = 0,
                  *, full: bool = False) -> str:
    """Decode one prompt; returns the continuation text (``full=True``: prompt + continuation, decoded
    together so that tokenizers without leading-space tokens join correctly)."""
    from contrastkit.generation.contrastive_search import contrastive_search
    from contrastkit.generation.rankgen import nucleus_sample

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: unknown option {strategy!r}; expected one of {STRATEGIES}")
    enc = tok(prompt, return_tensors="pt")  # type: ignore[operator]
    ids = enc["input_ids"]
    is_enc_dec = bool(getattr(lm.config, "is_encoder_decoder", False))
    if strategy == "nucleus":
        if is_enc_dec:
            raise ValueError("strategy: nucleus is implemented for decoder-only models")
        new = nucleus_sample(lm, ids, max_new_tokens, top_p=top_p, generator=torch.Generator().manual_seed(seed))
    else:
        k, a = (top_k, alpha) if strategy == "contrastive" else (1, 0.0)
        out = contrastive_search(lm, ids, enc.get("attention_mask"), top_k=k, penalty_alpha=a,
                                 max_new_tokens=max_new_tokens)
        new = out[:, 1:] if is_enc_dec else out[:, ids.shape[1]:]
    if full and not is_enc_dec:
        new = torch.cat([ids, new], dim=1)
    return tok.decode(new[0], skip_special_tokens=True)  # type: ignore[attr-defined]


def generate_command(model: str, prompt: str, strategy: str = "contrastive", top_k: int = 4,
                     alpha: float = 0.6, max_new_tokens: int = 64) -> str:
    """Entry point mounted as ``contrastkit generate --model PATH --prompt ... --strategy contrastive``.

    Loads with ``from_pretrained(PATH, local_files_only=True)``, prints the decoded prompt and
    continuation and returns that text.
    """
    if not prompt:
        raise ValueError("prompt: expected a non-empty string")
    lm, tok = load_local(model)
    text = generate_text(lm, tok, prompt, strategy, top_k, alpha, max_new_tokens, full=True)
    print(text)
    return text
