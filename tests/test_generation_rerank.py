"""Generative reranking: SFT / CL losses against naive loops, the weight x direction gradient identities
(exact in float64, with respect to the hidden states and the LM-head rows), the yes-token reranker on a
tiny GPT-2, and bad input named."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.generation.rerank import (
    RerankLoss,
    YesNoReranker,
    encode_groups,
    positive_index_from_relevance,
    rerank_direction,
    rerank_scores,
    rerank_weights,
)
from contrastkit.losses import InfoNCE

EXACT = {"rtol": 1e-12, "atol": 1e-12}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _group(n: int = 3, k: int = 4, d: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, k, d, generator=g, dtype=torch.float64, requires_grad=True)
    w_yes = torch.randn(d, generator=g, dtype=torch.float64, requires_grad=True)
    w_no = torch.randn(d, generator=g, dtype=torch.float64, requires_grad=True)
    positive = torch.randint(0, k, (n,), generator=g)
    return h, w_yes, w_no, positive


def _naive_cl(h, w_yes, p) -> float:
    h, w_yes = h.detach(), w_yes.detach()
    total = 0.0
    for i in range(h.shape[0]):
        s = [float(h[i, j] @ w_yes) for j in range(h.shape[1])]
        m = max(s)
        total += m + math.log(sum(math.exp(v - m) for v in s)) - s[int(p[i])]
    return total / h.shape[0]


def _naive_sft(h, w_yes, w_no, p) -> float:
    h, w_yes, w_no = h.detach(), w_yes.detach(), w_no.detach()
    total = 0.0
    for i in range(h.shape[0]):
        for j in range(h.shape[1]):
            y, n = float(h[i, j] @ w_yes), float(h[i, j] @ w_no)
            target = y if j == int(p[i]) else n
            total += math.log(math.exp(y) + math.exp(n)) - target
    return total / h.shape[0]


def test_losses_equal_naive_loops_and_cl_is_the_core_listwise_infonce():
    h, w_yes, w_no, p = _group()
    cl = RerankLoss("cl")(h, w_yes, w_no, positive_index=p).item()
    sft = RerankLoss("sft")(h, w_yes, w_no, positive_index=p).item()
    assert cl == pytest.approx(_naive_cl(h, w_yes, p), rel=1e-12)
    assert sft == pytest.approx(_naive_sft(h, w_yes, w_no, p), rel=1e-12)
    core = InfoNCE(temperature=1.0, similarity="dot")(w_yes.expand(3, -1), candidates=h, positive_index=p).item()
    assert core == pytest.approx(_naive_cl(h, w_yes, p), rel=1e-12)


def test_gradients_are_weight_times_direction_exactly():
    h, w_yes, w_no, p = _group()
    s_y, s_n = rerank_scores(h, w_yes, w_no)
    onehot = torch.nn.functional.one_hot(p, 4).double()
    w_cl = torch.softmax(s_y, -1).detach() - onehot
    w_sft = torch.sigmoid(s_y - s_n).detach() - onehot
    torch.testing.assert_close(rerank_weights(s_y, s_n, p, "cl"), w_cl, **EXACT)
    torch.testing.assert_close(rerank_weights(s_y, s_n, p, "sft"), w_sft, **EXACT)
    for loss, w, d in ((RerankLoss("cl", reduction="sum"), w_cl, w_yes),
                       (RerankLoss("sft", reduction="sum"), w_sft, w_yes - w_no)):
        grad = torch.autograd.grad(loss(h, w_yes, w_no, positive_index=p), h)[0]
        torch.testing.assert_close(grad, w[..., None] * d.detach(), **EXACT)
    # CL: the negatives' weights sum to minus the positive's; SFT's do not
    pos_cl = w_cl.gather(1, p[:, None])[:, 0]
    torch.testing.assert_close(w_cl.sum(1) - pos_cl, -pos_cl, **EXACT)
    assert not torch.allclose(w_sft.sum(1) - w_sft.gather(1, p[:, None])[:, 0], -w_sft.gather(1, p[:, None])[:, 0])


def test_unified_loss_reproduces_both_objectives_gradients_for_every_parameter():
    h, w_yes, w_no, p = _group(seed=1)
    for objective in ("cl", "sft"):
        real = RerankLoss(objective, reduction="sum")(h, w_yes, w_no, positive_index=p)
        g_real = torch.autograd.grad(real, (h, w_yes, w_no), allow_unused=True)
        s_y, s_n = rerank_scores(h, w_yes, w_no)
        url = (rerank_weights(s_y, s_n, p, objective) * (h @ rerank_direction(w_yes, w_no, objective))).sum()
        g_url = torch.autograd.grad(url, (h, w_yes, w_no), allow_unused=True)
        for a, b in zip(g_real, g_url, strict=True):
            if a is None or b is None:  # CL never touches w_no
                assert a is None and b is None and objective == "cl"
            else:
                torch.testing.assert_close(a, b, **EXACT)


@pytest.mark.parametrize(("weight", "direction"), [("sft", "cl"), ("cl", "sft")])
def test_mixed_probes_have_the_crossed_gradient(weight, direction):
    h, w_yes, w_no, p = _group(seed=2)
    loss = RerankLoss(weight, direction, reduction="sum")
    assert loss.config() == {"weight": weight, "direction": direction, "reduction": "sum"}
    value = loss(h, w_yes, w_no, positive_index=p)
    g_h, g_yes = torch.autograd.grad(value, (h, w_yes), retain_graph=True)
    s_y, s_n = rerank_scores(h, w_yes, w_no)
    w = rerank_weights(s_y, s_n, p, weight)
    d = w_yes if direction == "cl" else w_yes - w_no
    torch.testing.assert_close(g_h, w[..., None] * d.detach(), **EXACT)
    torch.testing.assert_close(g_yes, (w[..., None] * h.detach()).sum((0, 1)), **EXACT)


def test_hand_values_once_the_positive_wins():
    # s_y = (10, 0, 0), s_n = 0: CL's softmax leaves the negatives ~4.5e-5 each, SFT keeps sigmoid(0) = 0.5
    s_y = torch.tensor([[10.0, 0.0, 0.0]], dtype=torch.float64)
    s_n = torch.zeros_like(s_y)
    p = torch.tensor([0])
    w_cl = rerank_weights(s_y, s_n, p, "cl")[0]
    w_sft = rerank_weights(s_y, s_n, p, "sft")[0]
    z = math.exp(10) + 2
    assert w_cl.tolist() == pytest.approx([math.exp(10) / z - 1, 1 / z, 1 / z], rel=1e-12)
    assert w_sft.tolist() == pytest.approx([1 / (1 + math.exp(-10)) - 1, 0.5, 0.5], rel=1e-12)


def test_bad_input_is_named():
    h, w_yes, w_no, p = _group()
    loss = RerankLoss()
    with pytest.raises(ValueError, match="^positive_index: expected the"):
        loss(h, w_yes, w_no)
    with pytest.raises(ValueError, match="^positive_index: expected indices in 0..3"):
        loss(h, w_yes, w_no, positive_index=torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="^positive_index: "):
        loss(h, w_yes, w_no, positive_index=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="^w_yes: expected a \\(16,\\)"):
        loss(h, w_yes[:8], w_no, positive_index=p)
    with pytest.raises(ValueError, match="^w_no: "):
        loss(h, w_yes, w_no[None], positive_index=p)
    with pytest.raises(ValueError, match="^hidden: expected \\(N, K, d\\) with K >= 2"):
        loss(h[:, :1], w_yes, w_no, positive_index=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="^hidden: contains NaN"):
        loss(h.detach().clone().index_fill_(0, torch.tensor([0]), float("nan")), w_yes, w_no, positive_index=p)
    with pytest.raises(ValueError, match="^weight: unknown option 'bce'"):
        RerankLoss("bce")
    with pytest.raises(ValueError, match="^direction: unknown option"):
        RerankLoss("cl", "yes")


def test_relevance_groups_need_exactly_one_positive():
    assert positive_index_from_relevance([[0, 1, 0], [1, 0, 0]]).tolist() == [1, 0]
    assert positive_index_from_relevance(torch.tensor([[False, False, True]])).tolist() == [2]
    with pytest.raises(ValueError, match="^relevance: group 1 has no positive candidate"):
        positive_index_from_relevance([[0, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="^relevance: group 0 has 2 positive candidates"):
        positive_index_from_relevance([[1, 1, 0]])
    with pytest.raises(ValueError, match="^relevance: expected 0/1"):
        positive_index_from_relevance([[0, 2, 0]])
    with pytest.raises(ValueError, match="^relevance: expected shape"):
        positive_index_from_relevance([1, 0, 0])
    with pytest.raises(TypeError, match="^relevance: "):
        positive_index_from_relevance([[0, 1], [1]])


def test_encode_groups_layout_and_k_mismatch():
    ids, mask = encode_groups([[5, 6], [7]], [[[8], [9, 10]], [[11, 12, 13], [14]]], sep_id=1, ask_id=2, pad_id=0,
                              max_length=8)
    assert ids.shape == mask.shape == (2, 2, 6)
    assert ids[0, 1].tolist() == [5, 6, 1, 9, 10, 2] and ids[1, 1].tolist() == [7, 1, 14, 2, 0, 0]
    assert mask[1, 1].tolist() == [1, 1, 1, 1, 0, 0]
    kw = {"sep_id": 1, "ask_id": 2, "pad_id": 0, "max_length": 8}
    with pytest.raises(ValueError, match="^candidates: query 1 has 1 candidates, expected 2"):
        encode_groups([[5], [6]], [[[8], [9]], [[10]]], **kw)
    with pytest.raises(ValueError, match="^candidates: expected one candidate list per query"):
        encode_groups([[5], [6]], [[[8], [9]]], **kw)
    with pytest.raises(ValueError, match="^candidates: expected K >= 2"):
        encode_groups([[5]], [[[8]]], **kw)
    with pytest.raises(ValueError, match="^queries: query 0 is empty"):
        encode_groups([[]], [[[8], [9]]], **kw)
    with pytest.raises(ValueError, match="^candidates: document 1 of query 0 is empty"):
        encode_groups([[5]], [[[8], []]], **kw)
    with pytest.raises(ValueError, match="^max_length: the prompt of query 0, document 0 has 9 tokens"):
        encode_groups([[5]], [[[8] * 6, [9]]], **kw)


def test_yes_no_reranker_scores_are_the_lm_logits_at_the_answer_token():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    lm = GPT2LMHeadModel(GPT2Config(vocab_size=30, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    model = YesNoReranker(lm, yes_id=3, no_id=4)
    ids, mask = encode_groups([[5, 6], [7]], [[[8], [9, 10, 11]], [[12], [13, 14]]], sep_id=1, ask_id=2, pad_id=0,
                              max_length=16)
    with torch.no_grad():
        s_y, s_n = model(ids, mask)
        assert s_y.shape == (2, 2)
        for i in range(2):
            for j in range(2):
                length = int(mask[i, j].sum())
                logits = lm(input_ids=ids[i, j, :length][None]).logits[0, -1]  # unpadded, alone
                assert float(s_y[i, j]) == pytest.approx(float(logits[3]), abs=1e-5)
                assert float(s_n[i, j]) == pytest.approx(float(logits[4]), abs=1e-5)
    with pytest.raises(ValueError, match="^yes_id: expected a token id in 0..29"):
        YesNoReranker(lm, yes_id=30, no_id=4)
    with pytest.raises(ValueError, match="^no_id: expected a token other than yes_id"):
        YesNoReranker(lm, yes_id=3, no_id=3)
    with pytest.raises(ValueError, match="^attention_mask: a prompt has no real token"):
        model(ids, torch.zeros_like(mask))


@pytest.mark.parametrize(("weight", "direction"), [("sft", "sft"), ("cl", "sft"), ("cl", "cl")])
def test_an_empty_batch_of_groups_is_refused_naming_hidden(weight, direction):
    # N = 0 queries: a mean over nothing would be a silent NaN
    h = torch.zeros(0, 4, 8)
    with pytest.raises(ValueError, match="hidden"):
        RerankLoss(weight, direction)(h, torch.ones(8), torch.zeros(8), positive_index=torch.zeros(0, dtype=torch.long))


def test_relevance_with_non_numbers_is_a_named_type_error():
    with pytest.raises(TypeError, match="relevance"):
        positive_index_from_relevance([[None, 1], [1, 0]])


@pytest.mark.parametrize(("queries", "candidates", "name"), [
    ([["a"]], [[[1], [2]]], "queries"),
    ([[1.5]], [[[1], [2]]], "queries"),
    ([[-1]], [[[1], [2]]], "queries"),
    ([[True]], [[[1], [2]]], "queries"),
    ([[1]], [[[1], ["b"]]], "candidates"),
    ([[1]], [[[1], [2.7]]], "candidates"),
])
def test_encode_groups_refuses_token_ids_that_are_not_non_negative_integers(queries, candidates, name):
    with pytest.raises((TypeError, ValueError), match=name):
        encode_groups(queries, candidates, sep_id=0, ask_id=9, pad_id=10, max_length=8)


def test_yes_no_reranker_refuses_a_left_padded_mask():
    # the answer position is read at mask.sum() - 1: a left-padded (or holed) mask would read a pad token silently
    from transformers import GPT2Config, GPT2LMHeadModel

    lm = GPT2LMHeadModel(GPT2Config(vocab_size=30, n_positions=32, n_embd=16, n_layer=1, n_head=2)).eval()
    model = YesNoReranker(lm, yes_id=3, no_id=4)
    ids = torch.tensor([[[0, 5, 2], [6, 7, 2]]])
    for mask in (torch.tensor([[[0, 1, 1], [1, 1, 1]]]), torch.tensor([[[1, 0, 1], [1, 1, 1]]])):
        with pytest.raises(ValueError, match="^attention_mask: .*right-padded"):
            model(ids, mask)
