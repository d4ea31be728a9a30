"""sentence-transformers interop: MNRL equals sentence-transformers' MultipleNegativesRankingLoss (values and
gradients, with and without hard negatives); every contrastkit loss trains a SentenceTransformer through the
adapter (a real 2-step SentenceTransformerTrainer fit)."""

import warnings

import pytest
import torch

import contrastkit.losses as L
from contrastkit.text import minilm_path
from contrastkit.text.interop import SentenceTransformerLoss, mnrl

warnings.filterwarnings("ignore", category=DeprecationWarning)


@pytest.fixture(scope="module")
def st_model():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    model.max_seq_length = 32
    return model


def _st_mnrl(model, scale=20.0):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    return MultipleNegativesRankingLoss(model, scale=scale)


def _columns(n_cols, batch=6, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, d, generator=g, dtype=torch.float64).requires_grad_() for _ in range(n_cols)]


@pytest.mark.parametrize("n_cols", [2, 3, 4])  # pairs, one and two hard-negative columns
@pytest.mark.parametrize("scale", [20.0, 7.5])
def test_mnrl_equals_sentence_transformers(st_model, n_cols, scale):
    ours_in = _columns(n_cols, seed=n_cols)
    ref_in = [t.detach().clone().requires_grad_() for t in ours_in]
    ref = _st_mnrl(st_model, scale).compute_loss_from_embeddings(ref_in, None)
    ours = SentenceTransformerLoss(st_model, mnrl(scale)).compute_loss_from_embeddings(ours_in, None)
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)
    ours.backward()
    ref.backward()
    for a, b in zip(ours_in, ref_in, strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-10, rtol=0)


def test_mnrl_direct_call_and_float32():
    a, p, n = (t.float() for t in _columns(3, seed=9))
    from sentence_transformers.util import cos_sim

    logits = 20.0 * cos_sim(a, torch.cat([p, n]))
    want = torch.nn.functional.cross_entropy(logits, torch.arange(6))
    torch.testing.assert_close(mnrl()(a, p, negatives=n), want, atol=1e-5, rtol=0)
    with pytest.raises(TypeError, match="temperature: fixed by mnrl"):
        mnrl(temperature=0.1)
    with pytest.raises(ValueError, match="scale"):
        mnrl(scale=0)


@pytest.mark.parametrize("make, n_cols, use_labels", [
    (lambda: L.InfoNCE(0.05), 2, False),                   # SimCSE-style two views
    (lambda: L.DCL(0.1), 2, False),
    (lambda: L.SigLIP(), 2, False),
    (lambda: L.InfoNCE(0.1, mode="symmetric"), 2, False),  # CLIP-style two towers
    (lambda: L.InfoNCE(0.1), 1, True),                     # SupCon from a label column
    (lambda: mnrl(), 3, False),
])
def test_every_loss_family_goes_through_the_adapter(st_model, make, n_cols, use_labels):
    loss = make()
    cols = [t.float() for t in _columns(n_cols, seed=3)]
    labels = torch.tensor([0, 1, 0, 1, 2, 2]) if use_labels else torch.tensor([])
    value = SentenceTransformerLoss(st_model, loss, use_labels=use_labels).compute_loss_from_embeddings(cols, labels)
    if n_cols == 1:
        want = loss(cols[0], labels=labels)
    elif n_cols == 2:
        want = loss(cols[0], cols[1])
    else:
        want = loss(cols[0], cols[1], negatives=cols[2])
    torch.testing.assert_close(value, want)
    value.backward()


def test_adapter_errors(st_model):
    with pytest.raises(TypeError, match="loss: expected a contrastkit loss"):
        SentenceTransformerLoss(st_model, torch.nn.MSELoss())
    adapter = SentenceTransformerLoss(st_model, L.InfoNCE(0.1), use_labels=True)
    with pytest.raises(ValueError, match="labels: use_labels=True but the dataset has no label column"):
        adapter.compute_loss_from_embeddings(_columns(1), None)
    assert SentenceTransformerLoss(st_model, mnrl()).get_config_dict()["temperature"] == pytest.approx(0.05)


def test_two_step_sentence_transformer_fit(tmp_path):
    """A real SentenceTransformerTrainer fit: 2 steps of the adapter around contrastkit's MNRL change the model,
    and the loss the trainer logs is ours."""
    pytest.importorskip("datasets")
    pytest.importorskip("accelerate")
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    model = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    model.max_seq_length = 24
    pairs = Dataset.from_dict({
        "anchor": ["a cat sits", "stocks fell", "it rains", "the band played", "he ran fast", "bread is baked",
                   "a goal was scored", "the ship sailed"],
        "positive": ["a kitten is sitting", "shares dropped", "rain is falling", "music was performed",
                     "he sprinted", "a loaf is in the oven", "the team scored", "the boat left port"],
    })
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    calls = []
    adapter = SentenceTransformerLoss(model, mnrl())
    real = adapter.compute_loss_from_embeddings

    def counting(embeddings, labels):
        calls.append(len(embeddings))
        return real(embeddings, labels)

    adapter.compute_loss_from_embeddings = counting
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-4,
        report_to="none", save_strategy="no", logging_steps=1, use_cpu=True, dataloader_num_workers=0,
        disable_tqdm=True, seed=0)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=adapter)
    out = trainer.train()
    assert out.global_step == 2 and calls == [2, 2]
    assert torch.isfinite(torch.tensor(out.training_loss))
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "two optimiser steps left every weight unchanged"
