"""Parity cases shared by the transformers 4.55.4 reference run and the default suite.

Each case builds a seeded tiny model with :mod:`contrastkit.generation._testing` (same weights under
transformers 4.x and 5.x), so the ids that 4.55.4 ``generate(penalty_alpha=..., top_k=...)`` produced
(stored in ``golden_contrastive.json`` by ``make_golden.py``) can be checked under any version.
"""

from __future__ import annotations

from typing import Any

import torch

_LAYERS = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
               max_position_embeddings=128, bos_token_id=None, eos_token_id=None, pad_token_id=None)

CASES: list[dict[str, Any]] = [
    # name, model kind, model kwargs, prompts (left-padded with 0, mask from lengths), decoding
    dict(name="gpt2_notes_cfg", kind="gpt2", seed=0, std=0.2, model={},
         prompts=[[5, 17, 42, 8, 99]], top_k=4, alpha=0.6, max_new_tokens=20),
    dict(name="gpt2_small_std", kind="gpt2", seed=1, std=0.02, model={},
         prompts=[[1, 2, 3]], top_k=4, alpha=0.6, max_new_tokens=30),
    dict(name="gpt2_k8_a03", kind="gpt2", seed=2, std=0.3,
         model=dict(vocab_size=257, n_embd=64, n_layer=3, n_head=4),
         prompts=[[7, 200, 31, 31, 9, 100, 250]], top_k=8, alpha=0.3, max_new_tokens=25),
    dict(name="gpt2_k2_a09", kind="gpt2", seed=3, std=0.3, model=dict(n_layer=1),
         prompts=[[60]], top_k=2, alpha=0.9, max_new_tokens=40),
    dict(name="gpt2_batch2_leftpad", kind="gpt2", seed=4, std=0.2, model={},
         prompts=[[5, 17, 42], [3, 4, 5, 6, 7, 8]], top_k=4, alpha=0.6, max_new_tokens=15),
    dict(name="gpt2_batch2_leftpad_k5", kind="gpt2", seed=5, std=0.25,
         model=dict(vocab_size=300, n_embd=48, n_layer=2, n_head=3),
         prompts=[[11, 12, 13, 14, 15, 16, 17, 18], [250]], top_k=5, alpha=0.5, max_new_tokens=20),
    dict(name="gpt2_eos_batch2", kind="gpt2", seed=0, std=0.2, model=dict(eos_token_id=97),
         prompts=[[5, 17, 42, 8, 99], [3, 4]], top_k=4, alpha=0.6, max_new_tokens=20, eos=97, pad=0),
    dict(name="llama_batch2_leftpad", kind="llama", seed=0, std=0.3, model={},
         prompts=[[5, 17, 42, 8, 99, 3], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=18),
    dict(name="llama_gqa_k6", kind="llama", seed=1, std=0.2, model=dict(num_hidden_layers=3),
         prompts=[[7, 8, 9, 10]], top_k=6, alpha=0.5, max_new_tokens=25),
    # Other decoder architectures (kind "hf": a transformers class built from its config, seeded by name).
    dict(name="qwen2_batch2", kind="hf", arch=("Qwen2ForCausalLM", "Qwen2Config"), seed=1, std=0.3,
         model=dict(_LAYERS, num_key_value_heads=2), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6,
         max_new_tokens=12),
    dict(name="phi3_batch2", kind="hf", arch=("Phi3ForCausalLM", "Phi3Config"), seed=2, std=0.3,
         model=dict(_LAYERS, num_key_value_heads=2), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6,
         max_new_tokens=12),
    # GPT-NeoX's parameter names changed in 5.x (other seeded weights there): compared under 4.55 only.
    dict(name="gpt_neox_batch2", kind="hf", arch=("GPTNeoXForCausalLM", "GPTNeoXConfig"), seed=3, std=0.3,
         model=dict(_LAYERS), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=12,
         hf4_only=True),
    dict(name="gemma_batch2", kind="hf", arch=("GemmaForCausalLM", "GemmaConfig"), seed=4, std=0.3,
         model=dict(_LAYERS, num_key_value_heads=2, head_dim=8), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4,
         alpha=0.6, max_new_tokens=12),
    dict(name="stablelm_batch2", kind="hf", arch=("StableLmForCausalLM", "StableLmConfig"), seed=5, std=0.3,
         model=dict(_LAYERS, num_key_value_heads=2), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6,
         max_new_tokens=12),
    dict(name="falcon_batch2", kind="hf", arch=("FalconForCausalLM", "FalconConfig"), seed=6, std=0.3,
         model=dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, alibi=False),
         prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=12),
    dict(name="gptj_batch2", kind="hf", arch=("GPTJForCausalLM", "GPTJConfig"), seed=7, std=0.3,
         model=dict(vocab_size=96, n_embd=32, n_layer=2, n_head=4, rotary_dim=4, n_positions=128,
                    bos_token_id=None, eos_token_id=None),
         prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=12),
    dict(name="opt_batch2", kind="hf", arch=("OPTForCausalLM", "OPTConfig"), seed=8, std=0.3,
         model=dict(vocab_size=96, hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                    max_position_embeddings=64, word_embed_proj_dim=32, pad_token_id=1, bos_token_id=2,
                    eos_token_id=None),
         prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=12),
    # 4.55's XGLM adds its position offset to position_ids in place (a reused tensor drifted) and reads a
    # 4D mask as 0/1 (shared scoring refused there; on 5.x it is supported).
    dict(name="xglm_batch2", kind="hf", arch=("XGLMForCausalLM", "XGLMConfig"), seed=9, std=0.3,
         model=dict(vocab_size=96, d_model=32, num_layers=2, attention_heads=4, ffn_dim=64,
                    max_position_embeddings=128), prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6,
         max_new_tokens=12, shared=">=5"),
    # GPT-Neo's local layers (window 4 < context): the shared 4D mask cannot apply the window.
    dict(name="gpt_neo_local", kind="hf", arch=("GPTNeoForCausalLM", "GPTNeoConfig"), seed=10, std=0.3,
         model=dict(vocab_size=96, hidden_size=32, num_layers=2, num_heads=4,
                    attention_types=[[["global", "local"], 1]], window_size=4, max_position_embeddings=128,
                    bos_token_id=None, eos_token_id=None),
         prompts=[[5, 17, 42, 8, 9, 60, 61], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=12, shared="never"),
    # 4.55's CTRL flattens the mask to 2D, BertLMHeadModel rejects a 4D one: caught by the first-step check
    # of the shared scoring (refused there, "auto" falls back to expanded); 5.x serves both. (No left padding
    # for CTRL: 4.55 generate numbers its positions from 0 regardless of padding, contrastkit from the mask.)
    dict(name="ctrl_batch2", kind="hf", arch=("CTRLLMHeadModel", "CTRLConfig"), seed=11, std=0.3,
         model=dict(vocab_size=96, n_embd=32, n_layer=2, n_head=4, dff=64, n_positions=64),
         prompts=[[5, 17, 42, 8, 9], [30, 31, 32, 33, 34]], top_k=4, alpha=0.6, max_new_tokens=10, shared=">=5"),
    dict(name="bert_lm_batch2", kind="hf", arch=("BertLMHeadModel", "BertConfig"), seed=12, std=0.3,
         model=dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    is_decoder=True, max_position_embeddings=64),
         prompts=[[5, 17, 42, 8, 9], [30, 31]], top_k=4, alpha=0.6, max_new_tokens=10, shared=">=5"),
    dict(name="t5_batch2", kind="t5", seed=0, std=0.3, model={},
         prompts=[[5, 6, 7, 8, 1], [9, 10, 11, 1]], top_k=4, alpha=0.6, max_new_tokens=12),
    dict(name="t5_k3_eos", kind="t5", seed=1, std=0.3, model=dict(eos_token_id=37),
         prompts=[[5, 6, 7, 8, 9, 10, 1], [12, 13, 1]], top_k=3, alpha=0.7, max_new_tokens=16, eos=37, pad=0),
]


def build(case: dict[str, Any]) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """Model, ids and attention mask of a case (decoder-only prompts left-padded, sources right-padded)."""
    from contrastkit.generation._testing import tiny_gpt2, tiny_llama, tiny_t5

    if case["kind"] == "hf":
        model = _hf_model(case)
    else:
        factory = {"gpt2": tiny_gpt2, "llama": tiny_llama, "t5": tiny_t5}[case["kind"]]
        model = factory(case["seed"], std=case["std"], **case["model"])
    width = max(len(p) for p in case["prompts"])
    ids = torch.zeros(len(case["prompts"]), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(case["prompts"]):
        if case["kind"] != "t5":
            ids[i, width - len(p):] = torch.tensor(p)
            mask[i, width - len(p):] = 1
        else:
            ids[i, :len(p)] = torch.tensor(p)
            mask[i, :len(p)] = 1
    return model, ids, mask


def _hf_model(case: dict[str, Any]) -> torch.nn.Module:
    """A transformers class named by ``case["arch"]`` built from its config and seeded by parameter name."""
    import transformers

    from contrastkit.generation._testing import seeded_init_

    model_cls, config_cls = (getattr(transformers, name) for name in case["arch"])
    return seeded_init_(model_cls(config_cls(**case["model"])), case["seed"], case["std"])


def shared_supported(case: dict[str, Any]) -> bool:
    """Whether ``candidate_scoring="shared"`` serves this case under the installed transformers."""
    import transformers

    rule = case.get("shared", "always")
    return rule == "always" or (rule == ">=5" and int(transformers.__version__.split(".")[0]) >= 5)


def hf_generate(case: dict[str, Any]) -> list[list[int]]:
    """transformers ``generate`` contrastive search (only meaningful on transformers < 4.56)."""
    model, ids, mask = build(case)
    kw: dict[str, Any] = dict(attention_mask=mask, penalty_alpha=case["alpha"], top_k=case["top_k"],
                              max_new_tokens=case["max_new_tokens"], do_sample=False)
    if "eos" in case:
        kw |= dict(eos_token_id=case["eos"], pad_token_id=case["pad"])
    else:
        kw |= dict(pad_token_id=0)
    return model.generate(ids, **kw).tolist()


def ours(case: dict[str, Any], **extra: Any) -> list[list[int]]:
    from contrastkit.generation import contrastive_search

    model, ids, mask = build(case)
    return contrastive_search(model, ids, mask, top_k=case["top_k"], penalty_alpha=case["alpha"],
                              max_new_tokens=case["max_new_tokens"], eos_token_id=case.get("eos"),
                              pad_token_id=case.get("pad", 0), **extra).tolist()
