"""hicl: faiss top-1 retrieval equals argmax cosine, trigger-term insertion, stage 2 moves only the trigger rows,
the #Encoder's SupCon loss equals a naive loop, the decision rules, and the quick reproduction."""

import math

import pytest
import torch

from contrastkit.papers._claims import load_recipe
from contrastkit.papers.hicl import reproduce as hicl
from contrastkit.papers.hicl.module import TinyClassifier, retrieve_top1, train_classifier, trigger_inputs


def test_faiss_top1_equals_argmax_cosine_and_exclusion():
    gen = torch.Generator().manual_seed(0)
    q, db = torch.randn(20, 8, generator=gen), torch.randn(50, 8, generator=gen) * 3
    cos = torch.nn.functional.normalize(q, dim=1) @ torch.nn.functional.normalize(db, dim=1).T
    assert torch.equal(retrieve_top1(q, db), cos.argmax(1))
    # the queries are database rows: excluding itself returns the best other row
    got = retrieve_top1(db[:10], db, exclude=torch.arange(10))
    c2 = torch.nn.functional.normalize(db[:10], dim=1) @ torch.nn.functional.normalize(db, dim=1).T
    c2[torch.arange(10), torch.arange(10)] = -2
    assert torch.equal(got, c2.argmax(1))
    with pytest.raises(ValueError, match="queries, database"):
        retrieve_top1(q, db[:, :4])


def test_supcon_loss_of_the_hash_encoder_equals_a_naive_loop():
    from contrastkit.losses import InfoNCE

    gen = torch.Generator().manual_seed(2)
    z = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 1, 2])
    zn = z / z.norm(dim=1, keepdim=True)
    total, count = 0.0, 0
    for i in range(6):
        pos = [j for j in range(6) if j != i and y[j] == y[i]]
        if not pos:
            continue
        logits = {j: float(zn[i] @ zn[j]) / 0.05 for j in range(6) if j != i}
        m = max(logits.values())
        lse = m + math.log(sum(math.exp(v - m) for v in logits.values()))
        total += sum(lse - logits[p] for p in pos) / len(pos)
        count += 1
    got = InfoNCE(temperature=0.05, no_positive="ignore")(z, labels=y)
    assert float(got) == pytest.approx(total / count, rel=1e-10)


@pytest.fixture(scope="module")
def tokenizer():
    from contrastkit.text import TextEncoder

    return TextEncoder.from_pretrained().tokenizer


def test_trigger_insertion_follows_the_template(tokenizer):
    ids, mask = trigger_inputs(tokenizer, ["the cat sat"], ["a dog ran far away"], n_triggers=3, max_length=16)
    x = tokenizer(["the cat sat"], add_special_tokens=False)["input_ids"][0]
    c = tokenizer(["a dog ran far away"], add_special_tokens=False)["input_ids"][0]
    v = len(tokenizer)
    expected = [tokenizer.cls_token_id] + x + [v, v + 1, v + 2] + c + [tokenizer.sep_token_id]
    assert ids[0, :len(expected)].tolist() == expected and int(mask.sum()) == len(expected)
    plain, pmask = trigger_inputs(tokenizer, ["the cat sat"], None, n_triggers=3, max_length=16)
    assert plain[0, :len(x) + 2].tolist() == [tokenizer.cls_token_id] + x + [tokenizer.sep_token_id]
    assert int(pmask.sum()) == len(x) + 2 and int((plain >= v).sum()) == 0
    long_ids, _ = trigger_inputs(tokenizer, ["word " * 50], ["other " * 50], n_triggers=3, max_length=16)
    assert long_ids.shape == (1, 16) and int((long_ids[0] >= v).sum()) == 3
    with pytest.raises(ValueError, match="max_length"):
        trigger_inputs(tokenizer, ["x"], ["y"], n_triggers=5, max_length=7)


def test_stage_two_changes_only_the_trigger_rows():
    torch.manual_seed(0)
    vocab, n_trig = 30, 3
    model = TinyClassifier(vocab + n_trig, 2, hidden=16, layers=1, heads=2, max_length=12)
    ids = torch.randint(0, vocab, (8, 12))
    ids[:, 5:8] = torch.arange(vocab, vocab + n_trig)
    mask, y = torch.ones(8, 12, dtype=torch.long), torch.tensor([0, 1] * 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_classifier(model, ids, mask, y, epochs=1, batch_size=8, lr=1e-2, seed=0, trigger_rows_from=vocab)
    after = model.state_dict()
    for k, v in after.items():
        if k == "bert.embeddings.word_embeddings.weight":
            assert torch.equal(v[:vocab], before[k][:vocab]) and not torch.equal(v[vocab:], before[k][vocab:])
        else:
            assert torch.equal(v, before[k]), k


def test_decide_outcomes_on_hand_values():
    cfg = load_recipe(hicl.RECIPE)
    s = [0.0, 0.01, -0.01]
    p1 = {"minilm": [0.5] * 3, "hash": [0.7 + x for x in s]}
    good = {"no_context": [0.4 + x for x in s], "hash_context": [0.5 + x + 0.001 * i for i, x in enumerate(s)],
            "minilm_context": [0.45] * 3}
    assert hicl.decide(cfg, p1, good, quick=False).outcome() == "pass"
    bad = dict(good, hash_context=[0.2 + x + 0.001 * i for i, x in enumerate(s)])
    assert hicl.decide(cfg, p1, bad, quick=False).outcome() == "fail"
    noisy = dict(good, hash_context=[0.35, 0.5, 0.42])
    assert hicl.decide(cfg, p1, noisy, quick=False).outcome() == "not testable"


@pytest.mark.requires_fortunes
def test_quick_reproduction_on_fortunes():
    res = hicl.reproduce(quick=True)
    assert res.outcome() == "smoke" and res.metrics["corpus"] == "fortunes"
    assert 0.0 <= res.metrics["topic_p@1/hash"]["mean"] <= 1.0


def test_quick_reproduction_falls_back_without_fortunes(monkeypatch):
    monkeypatch.setenv("CONTRASTKIT_HIDE_OPTIONAL_DATA", "1")
    res = hicl.reproduce(quick=True)
    assert res.outcome() == "smoke" and res.metrics["corpus"] == "newsgroups"
