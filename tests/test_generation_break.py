"""Adversarial cases for contrastive search: model families the shared-cache scoring cannot serve."""

from __future__ import annotations

import pytest
import torch

from contrastkit.generation import contrastive_search
from contrastkit.generation._testing import seeded_init_

_BASE = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=256)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _model(kind: str) -> torch.nn.Module:
    import transformers as tf

    if kind == "mistral-sliding4":
        return seeded_init_(tf.MistralForCausalLM(tf.MistralConfig(sliding_window=4, **_BASE)), 1, 0.3)
    if kind == "gemma2-hybrid":
        return seeded_init_(tf.Gemma2ForCausalLM(tf.Gemma2Config(head_dim=8, sliding_window=4, **_BASE)), 1, 0.3)
    if kind == "gpt_neo-local4":
        cfg = tf.GPTNeoConfig(vocab_size=96, hidden_size=32, num_layers=2, num_heads=4, window_size=4,
                              attention_types=[[["global", "local"], 1]], max_position_embeddings=128)
        return seeded_init_(tf.GPTNeoForCausalLM(cfg), 1, 0.3)
    if kind == "bloom-alibi":
        cfg = tf.BloomConfig(vocab_size=96, hidden_size=32, n_layer=2, n_head=4)
        return seeded_init_(tf.BloomForCausalLM(cfg), 1, 0.3)
    raise AssertionError(kind)


def _naive(model, ids: torch.Tensor, k: int, alpha: float, steps: int) -> list[list[int]]:
    """No cache, one full forward per candidate (batch 1, no padding): the model applies its own window."""
    for _ in range(steps):
        out = model(ids, output_hidden_states=True, use_cache=False)
        pk, vk = torch.softmax(out.logits[:, -1].float(), -1).topk(k)
        ctx = out.hidden_states[-1][0].float()
        ctx = ctx / ctx.norm(dim=-1, keepdim=True)
        scores = []
        for j in range(k):
            cand = torch.cat([ids, vk[:, j:j + 1]], dim=1)
            hv = model(cand, output_hidden_states=True, use_cache=False).hidden_states[-1][0, -1].float()
            scores.append((1 - alpha) * float(pk[0, j]) - alpha * float((ctx @ (hv / hv.norm())).max()))
        best = max(range(k), key=lambda j: (scores[j], -j))
        ids = torch.cat([ids, vk[:, best:best + 1]], dim=1)
    return ids.tolist()


@pytest.mark.parametrize("kind", ["mistral-sliding4", "gemma2-hybrid", "bloom-alibi", "gpt_neo-local4"])
def test_auto_scoring_serves_sliding_window_and_alibi_models(kind: str) -> None:
    """'auto' used the shared 4D-mask scoring for every decoder-only model: with sliding-window attention it
    returned wrong ids (transformers 4.55: the window is not applied to the 4D mask) or crashed (5.x: the
    sliding cache is shorter than the mask); Bloom's ALiBi (built from a 2D mask) crashed on 5.x. GPT-Neo's
    local layers (``attention_layers``, no ``sliding_window`` field) were not recognised: wrong ids."""
    model = _model(kind)
    ids = torch.tensor([[36, 23, 43, 52, 41, 65, 33]])
    with torch.no_grad():
        ref = _naive(model, ids, 4, 0.6, 10)
    got = contrastive_search(model, ids, top_k=4, penalty_alpha=0.6, max_new_tokens=10, eos_token_id=[])
    assert got.tolist() == ref


@pytest.mark.parametrize("kind", ["mistral-sliding4", "gemma2-hybrid", "bloom-alibi", "gpt_neo-local4"])
def test_explicit_shared_scoring_rejects_unsupported_models(kind: str) -> None:
    model = _model(kind)
    with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported"):
        contrastive_search(model, torch.tensor([[3, 4, 5]]), top_k=2, max_new_tokens=3, eos_token_id=[],
                           candidate_scoring="shared")


def _gpt2():
    from contrastkit.generation._testing import tiny_gpt2

    return tiny_gpt2(0, std=0.2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_ids=torch.tensor([[3, 400, 5]])), "input_ids: expected ids in"),
    (dict(input_ids=torch.tensor([[3, -1, 5]])), "input_ids: expected ids in"),
    (dict(attention_mask=torch.tensor([[1, 2, 1]])), "attention_mask: expected only 0"),
    (dict(attention_mask=torch.tensor([[0.5, 1.0, 1.0]])), "attention_mask: expected only 0"),
    (dict(max_new_tokens=200), "max_new_tokens: prompt length 3"),
    (dict(decoder_input_ids=torch.tensor([[3]])), "decoder_input_ids: only for encoder-decoder"),
    (dict(logits_processor=lambda ids, s: s[:, :5]), "logits_processor: expected it to return"),
])
def test_bad_input_is_one_clear_value_error(kwargs: dict, match: str) -> None:
    """Out-of-vocabulary ids and too many new tokens for GPT-2's position table raised an IndexError from
    inside the model; a non-0/1 mask (0.5 silently truncated to 0), decoder ids on a decoder-only model
    and a logits processor returning the wrong shape were silently accepted."""
    kw = dict(input_ids=torch.tensor([[3, 4, 5]]), max_new_tokens=3) | kwargs
    with pytest.raises(ValueError, match=match):
        contrastive_search(_gpt2(), **kw)


@pytest.mark.parametrize("kwargs,match", [
    (dict(logits_processor=3), "logits_processor: expected a callable"),
    (dict(eos_token_id="a"), "eos_token_id: expected an int"),
])
def test_bad_input_types_name_the_argument(kwargs: dict, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        contrastive_search(_gpt2(), torch.tensor([[3, 4, 5]]), max_new_tokens=3, **kwargs)


def test_encoder_decoder_prompt_batch_mismatch_is_a_value_error() -> None:
    from contrastkit.generation._testing import tiny_t5

    with pytest.raises(ValueError, match="decoder_input_ids: expected batch size 1"):
        contrastive_search(tiny_t5(0), torch.tensor([[3, 4, 5]]), max_new_tokens=3,
                           decoder_input_ids=torch.zeros(2, 1, dtype=torch.long))


def test_eos_ids_as_numpy_integers_still_accepted() -> None:
    np = pytest.importorskip("numpy")
    a = contrastive_search(_gpt2(), torch.tensor([[3, 4, 5]]), max_new_tokens=6, eos_token_id=[np.int64(97)],
                           pad_token_id=0)
    b = contrastive_search(_gpt2(), torch.tensor([[3, 4, 5]]), max_new_tokens=6, eos_token_id=[97], pad_token_id=0)
    assert a.tolist() == b.tolist()


def _hf_cases() -> list[dict]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "hf4"))
    from cases import CASES

    return [c for c in CASES if c["kind"] == "hf"]


@pytest.mark.parametrize("case", _hf_cases(), ids=lambda c: c["name"])
def test_other_architectures_shared_equals_expanded_or_is_refused(case: dict) -> None:
    """Qwen2, Phi3, GPT-NeoX, Gemma, StableLM, Falcon, GPT-J, OPT, XGLM, GPT-Neo: the shared scoring gives
    the expanded scoring's ids (left-padded batch), or is refused with one ValueError naming the argument."""
    from cases import ours, shared_supported

    expanded = ours(case, candidate_scoring="expanded")
    if shared_supported(case):
        assert ours(case, candidate_scoring="shared") == expanded
        assert ours(case, candidate_scoring="shared", use_fast_head=False) == expanded
    else:
        with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported"):
            ours(case, candidate_scoring="shared")
    assert ours(case) == expanded  # "auto"


@pytest.mark.parametrize("name", ["BartForCausalLM", "TrOCRForCausalLM"])
def test_models_without_position_ids_refuse_shared_and_run_expanded(name: str) -> None:
    """These forwards take no ``position_ids`` (positions follow the cache length, so the k candidates of
    the shared mode would sit at k positions): 'shared' is refused. 'expanded' raised a TypeError (4.x:
    unexpected position_ids) or an IndexError (5.x: a cache sized by the encoder's layer count)."""
    import transformers as tf

    if name == "BartForCausalLM":
        cfg = tf.BartConfig(vocab_size=96, d_model=32, decoder_layers=2, encoder_layers=1, decoder_attention_heads=4,
                            encoder_attention_heads=4, decoder_ffn_dim=64, encoder_ffn_dim=64, is_decoder=True,
                            is_encoder_decoder=False, forced_eos_token_id=None)
        model = seeded_init_(tf.BartForCausalLM(cfg), 0, 0.3)
    else:
        cfg = tf.TrOCRConfig(vocab_size=96, d_model=32, decoder_layers=2, decoder_attention_heads=4,
                             decoder_ffn_dim=64)
        model = seeded_init_(tf.TrOCRForCausalLM(cfg), 0, 0.3)
    ids = torch.tensor([[5, 6, 7, 8]])
    with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported.*(position_ids|0/1)"):
        contrastive_search(model, ids, max_new_tokens=3, eos_token_id=[], candidate_scoring="shared")
    with torch.no_grad():
        ref = _naive(model, ids, 3, 0.6, 6)
    assert contrastive_search(model, ids, top_k=3, max_new_tokens=6, eos_token_id=[]).tolist() == ref


def test_model_without_key_value_cache_is_one_clear_error() -> None:
    """Mamba (a recurrent state, no keys and values): an AttributeError from inside transformers' cache."""
    import transformers as tf

    model = seeded_init_(tf.MambaForCausalLM(tf.MambaConfig(vocab_size=96, hidden_size=16, num_hidden_layers=1,
                                                            state_size=4)), 0, 0.3)
    for mode in ("auto", "expanded"):
        with pytest.raises(ValueError, match="^model: MambaForCausalLM"):
            contrastive_search(model, torch.tensor([[5, 6, 7]]), max_new_tokens=2, eos_token_id=[],
                               candidate_scoring=mode)


def test_first_step_check_refuses_a_model_the_static_checks_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that does not apply the shared 4D mask as given (here GPT-Neo's local layers with the config
    checks switched off, standing in for an architecture no check knows) is caught on the first step:
    explicit 'shared' raises one ValueError, 'auto' falls back to the expanded scoring and its correct ids."""
    import sys

    cs = sys.modules["contrastkit.generation.contrastive_search"]
    monkeypatch.setattr(cs, "_shared_unsupported", lambda config: None)  # contrastive_search() looks it up in cs
    model = _model("gpt_neo-local4")
    ids = torch.tensor([[36, 23, 43, 52, 41, 65, 33]])
    with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported .*differs from a plain forward"):
        contrastive_search(model, ids, top_k=4, max_new_tokens=4, eos_token_id=[], candidate_scoring="shared")
    with torch.no_grad():
        ref = _naive(model, ids, 4, 0.6, 8)
    assert contrastive_search(model, ids, top_k=4, penalty_alpha=0.6, max_new_tokens=8, eos_token_id=[]).tolist() == ref


def test_llama4_temperature_tuned_nope_layers_refuse_shared() -> None:
    """Llama 4 without chunked attention: its NoPE layers read ``cache.get_seq_length(layer_idx)`` to scale the
    queries, so the k candidates got k scales and layers 1..n a stale length (0.2 % off in a hidden state
    with floor_scale=1; at long context the scale steps at multiples of floor_scale, silently). Refused."""
    import transformers as tf

    cfg = tf.Llama4TextConfig(vocab_size=96, hidden_size=32, intermediate_size=64, intermediate_size_mlp=64,
                              num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                              num_local_experts=2, attention_chunk_size=None, floor_scale=1,
                              attn_temperature_tuning=True, no_rope_layers=[1, 0, 0], max_position_embeddings=64,
                              bos_token_id=None, eos_token_id=None, pad_token_id=None)
    model = seeded_init_(tf.Llama4ForCausalLM(cfg), 1, 0.3)
    ids = torch.tensor([[36, 23, 43, 52, 41]])
    with pytest.raises(ValueError, match="candidate_scoring: 'shared' is not supported .*(NoPE|chunked)"):
        contrastive_search(model, ids, top_k=4, max_new_tokens=3, eos_token_id=[], candidate_scoring="shared")
    expanded = contrastive_search(model, ids, top_k=4, max_new_tokens=8, eos_token_id=[], candidate_scoring="expanded")
    assert contrastive_search(model, ids, top_k=4, max_new_tokens=8, eos_token_id=[]).tolist() == expanded.tolist()


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_ids=torch.tensor([[3, 4, 5]], dtype=torch.uint8)), "input_ids: expected an int64 or int32"),
    (dict(input_ids=torch.tensor([[3, 4, 5]], dtype=torch.int8)), "input_ids: expected an int64 or int32"),
    (dict(eos_token_id=[7], pad_token_id="0"), "pad_token_id: expected an int"),
    (dict(eos_token_id=[7], pad_token_id=0.0), "pad_token_id: expected an int"),
])
def test_narrow_id_dtypes_and_bad_pad_name_the_argument(kwargs: dict, match: str) -> None:
    """uint8 / int8 ids raised a RuntimeError from the embedding; a string pad id a TypeError from full_like."""
    kw = dict(input_ids=torch.tensor([[3, 4, 5]]), max_new_tokens=3) | kwargs
    with pytest.raises(TypeError, match=match):
        contrastive_search(_gpt2(), **kw)


def test_int32_ids_and_tensor_pad_are_accepted() -> None:
    ids = torch.tensor([[3, 4, 5]])
    ref = contrastive_search(_gpt2(), ids, max_new_tokens=6, eos_token_id=[97], pad_token_id=0)
    got = contrastive_search(_gpt2(), ids.int(), max_new_tokens=6, eos_token_id=[97], pad_token_id=torch.tensor(0))
    assert got.tolist() == ref.tolist()


@pytest.mark.parametrize("name", ["OPT", "CodeGen"])
def test_position_tables_other_than_wpe_bound_max_new_tokens(name: str) -> None:
    """OPT's offset embedding (``embed_positions``, 2 reserved rows) and CodeGen's sinusoidal table raised an
    IndexError from inside the model past their size; the exact size still generates."""
    import transformers as tf

    if name == "OPT":
        cfg = tf.OPTConfig(vocab_size=96, hidden_size=16, ffn_dim=32, num_hidden_layers=1, num_attention_heads=2,
                           max_position_embeddings=16, word_embed_proj_dim=16, eos_token_id=None)
        model = seeded_init_(tf.OPTForCausalLM(cfg), 0, 0.3)
    else:
        cfg = tf.CodeGenConfig(vocab_size=96, n_embd=32, n_layer=1, n_head=4, rotary_dim=4, n_positions=16,
                               bos_token_id=None, eos_token_id=None)
        model = seeded_init_(tf.CodeGenForCausalLM(cfg), 0, 0.3)
    ids = torch.tensor([[5, 6, 7]])
    match = "max_new_tokens: prompt length 3 \\+ max_new_tokens 14 exceeds the model's 16"
    with pytest.raises(ValueError, match=match):
        contrastive_search(model, ids, top_k=2, max_new_tokens=14, eos_token_id=[])
    assert contrastive_search(model, ids, top_k=2, max_new_tokens=13, eos_token_id=[]).shape == (1, 16)


def test_parity_tested_stock_classes_skip_the_first_step_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's extra forward runs for architectures outside PARITY_TESTED_TYPES and for user subclasses
    (not transformers' own module), not for a stock class of a type the parity suite compares (GPT-2)."""
    import sys

    import transformers as tf

    cs = sys.modules["contrastkit.generation.contrastive_search"]
    calls: list[str] = []
    original = cs._SharedCausalState._plain_last_candidate

    def spy(self, top_ids):  # type: ignore[no-untyped-def]
        calls.append(type(self.model).__name__ if hasattr(self, "model") else "?")
        return original(self, top_ids)

    monkeypatch.setattr(cs._SharedCausalState, "_plain_last_candidate", spy)
    gpt2 = seeded_init_(tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=96, n_embd=32, n_layer=2, n_head=4)), 1, 0.3)

    class UserGPT2(tf.GPT2LMHeadModel):  # e.g. a fine-tuning wrapper defined in the user's module
        pass

    user = seeded_init_(UserGPT2(gpt2.config), 1, 0.3)
    cfg = tf.GPTNeoConfig(vocab_size=96, hidden_size=32, num_layers=2, num_heads=4,
                          attention_types=[[["global"], 2]], max_position_embeddings=128)
    neo = seeded_init_(tf.GPTNeoForCausalLM(cfg), 1, 0.3)
    ids = torch.tensor([[36, 23, 43, 52]])
    results = {}
    for name, model in (("gpt2", gpt2), ("user", user), ("neo", neo)):
        before = len(calls)
        results[name] = contrastive_search(model, ids, top_k=4, max_new_tokens=4, eos_token_id=[],
                                           candidate_scoring="shared").tolist()
        assert (len(calls) > before) == (name != "gpt2"), name
    assert results["gpt2"] == results["user"]  # same weights: the check changes nothing but its cost
