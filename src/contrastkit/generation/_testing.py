"""Deterministic tiny language models for parity tests and benchmarks.

Random initialisation order differs between transformers versions, so weights are written here from
one seeded generator in sorted parameter-name order: the same ``(config, seed)`` gives the same model
under transformers 4.55 and 5.x (parameter names of GPT-2 and T5 are stable across them).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def seeded_init_(model: nn.Module, seed: int, std: float = 0.02) -> nn.Module:
    """Overwrite every parameter with ``N(0, std)`` draws (norm weights ``1 + N(0, 0.1)``)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "ln" in name.split(".")[-2] or "norm" in name.lower():
                p.copy_(1.0 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            else:
                p.copy_(noise * std)
    return model.eval()


def tiny_gpt2(seed: int = 0, std: float = 0.02, **config: Any) -> nn.Module:
    """A seeded ``GPT2LMHeadModel``; ``config`` overrides the small defaults."""
    from transformers import GPT2Config, GPT2LMHeadModel

    kw = dict(vocab_size=101, n_positions=128, n_embd=32, n_layer=2, n_head=2, bos_token_id=None,
              eos_token_id=None) | config
    cfg = GPT2Config(**kw)
    return seeded_init_(GPT2LMHeadModel(cfg), seed, std)


def tiny_t5(seed: int = 0, std: float = 0.05, **config: Any) -> nn.Module:
    """A seeded ``T5ForConditionalGeneration``."""
    from transformers import T5Config, T5ForConditionalGeneration

    kw = dict(vocab_size=64, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
              decoder_start_token_id=0, pad_token_id=0, eos_token_id=1) | config
    return seeded_init_(T5ForConditionalGeneration(T5Config(**kw)), seed, std)


def tiny_llama(seed: int = 0, std: float = 0.05, **config: Any) -> nn.Module:
    """A seeded ``LlamaForCausalLM`` (RoPE, RMSNorm, tied embeddings off)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    kw = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, bos_token_id=None, eos_token_id=None,
              pad_token_id=None) | config
    return seeded_init_(LlamaForCausalLM(LlamaConfig(**kw)), seed, std)
