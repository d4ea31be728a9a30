"""HICL's pieces in miniature: the #Encoder (category-supervised InfoNCE on the top layer of all-MiniLM-L6-v2
over cached lower-layer states), top-1 retrieval through faiss, trigger-term insertion and the two-stage
classifier whose second stage trains only the trigger embeddings.

Source: Tan et al., "HICL: Hashtag-Driven In-Context Learning for Social Media Natural Language
Understanding" (2023); official code HICL/preprocess_match.py (top-1 retrieval), HICL/HICL_data_token.py and
HICL/HICL.py (trigger tokens ``[C_P_i]`` between the post and the retrieved post; stage 2 zeroes the gradient
rows of the original vocabulary).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit._validation import check_positive_int
from contrastkit.losses import InfoNCE
from contrastkit.text.moe import TopLayers
from contrastkit.training import InMemorySource, StepModule


class HashEncoder(StepModule):
    """The #Encoder: posts with the same category (hashtag) are positives, SupCon's ``L_out`` through
    :class:`~contrastkit.losses.InfoNCE` (``labels=``; in-batch negatives = posts of other categories).

    Args:
        top: the trainable :class:`~contrastkit.text.moe.TopLayers`.
        states, mask: ``(n, L, d)`` / ``(n, L)`` cached lower-layer states of the database posts.
        labels: ``(n,)`` int64 category of each post.
        temperature: InfoNCE ``tau`` (0.05, SimCSE's default, as for the paper's #Encoder).
        kwargs: :class:`~contrastkit.training.StepModule` settings.
    """

    def __init__(self, top: TopLayers, states: Tensor, mask: Tensor, labels: Tensor, *, temperature: float = 0.05,
                 **kwargs: Any) -> None:
        super().__init__(InMemorySource(states=states, mask=mask, labels=labels), **kwargs)
        self.top = top
        self.loss = InfoNCE(temperature=temperature, no_positive="ignore")

    def embed(self, states: Tensor, mask: Tensor) -> Tensor:
        return self.top(states, mask)

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        return {"loss": self.loss(self.embed(batch["states"], batch["mask"]), labels=batch["labels"])}


def retrieve_top1(queries: Tensor, database: Tensor, exclude: Tensor | None = None) -> Tensor:
    """``(Q,)`` row of ``database`` ``(N, d)`` with the highest cosine similarity to each query ``(Q, d)``,
    through a faiss flat inner-product index on unit vectors (HICL's ``IndexFlatL2`` over unit database
    vectors ranks identically). ``exclude`` ``(Q,)``: a database row each query must not return (``-1``:
    none), e.g. the query itself."""
    from contrastkit.evaluate import build_index, search

    if queries.dim() != 2 or database.dim() != 2 or queries.shape[1] != database.shape[1]:
        raise ValueError(f"queries, database: expected (Q, d) and (N, d), got {tuple(queries.shape)} and "
                         f"{tuple(database.shape)}")
    k = 1 if exclude is None else min(2, database.shape[0])
    _, ids = search(queries, build_index(database), k)
    ids = torch.from_numpy(ids).long()
    if exclude is None:
        return ids[:, 0]
    return torch.where(ids[:, 0] == exclude, ids[:, -1], ids[:, 0])


def trigger_inputs(tokenizer: Any, texts: Sequence[str], contexts: Sequence[str] | None, *, n_triggers: int,
                   max_length: int) -> tuple[Tensor, Tensor]:
    """``(input_ids, attention_mask)`` ``(n, max_length)``: ``[CLS] x [SEP]`` without context, else
    ``[CLS] x T_0 .. T_{m-1} x' [SEP]`` (HICL's template "050": the triggers between the post and the
    retrieved post). Trigger ``T_i`` has id ``len(tokenizer) + i`` (new vocabulary rows). ``x`` keeps at
    most half of the room, ``x'`` the rest."""
    n_triggers = check_positive_int(n_triggers, "n_triggers") if contexts is not None else 0
    base = len(tokenizer)
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    room = max_length - 2 - n_triggers
    if room < 2:
        raise ValueError(f"max_length: expected more than {n_triggers + 3} tokens for the template, got {max_length}")
    x_ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    c_ids = None if contexts is None else tokenizer(list(contexts), add_special_tokens=False)["input_ids"]
    ids = torch.full((len(texts), max_length), pad, dtype=torch.long)
    mask = torch.zeros((len(texts), max_length), dtype=torch.long)
    for i, x in enumerate(x_ids):
        if c_ids is None:
            seq = [cls] + x[:room] + [sep]
        else:
            x = x[:max(room // 2, room - len(c_ids[i]))]
            seq = [cls] + x + list(range(base, base + n_triggers)) + c_ids[i][:room - len(x)] + [sep]
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
    return ids, mask


class TinyClassifier(nn.Module):
    """A small BERT from its config (random init) with a linear head on the mean-pooled states.

    ``forward(input_ids, attention_mask) -> (n, n_classes)`` logits. ``vocab_size`` must include the trigger rows.
    """

    def __init__(self, vocab_size: int, n_classes: int, *, hidden: int = 128, layers: int = 2, heads: int = 2,
                 max_length: int = 128) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        cfg = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         intermediate_size=4 * hidden, max_position_embeddings=max_length)
        self.bert = BertModel(cfg, add_pooling_layer=False)
        self.head = nn.Linear(hidden, n_classes)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.bert.embeddings.word_embeddings

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1.0))


def train_classifier(model: TinyClassifier, ids: Tensor, mask: Tensor, labels: Tensor, *, epochs: int,
                     batch_size: int, lr: float, weight_decay: float = 0.01, seed: int = 0,
                     trigger_rows_from: int | None = None) -> TinyClassifier:
    """Cross-entropy training of ``model`` (AdamW, shuffled mini-batches seeded by ``seed``).

    ``trigger_rows_from`` set: HICL's stage 2 -- the optimizer holds only the word-embedding matrix, and
    after each backward the gradient rows ``[:trigger_rows_from]`` (the original vocabulary) are zeroed, so
    only the trigger rows change (no weight decay here: decay would move the other rows too).
    """
    from contrastkit.training.loop import fit_steps

    gen = torch.Generator().manual_seed(seed)
    if trigger_rows_from is None:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW([model.word_embeddings.weight], lr=lr, weight_decay=0.0)
    model.train()
    n = len(labels)
    batches = [rows for _ in range(epochs) for rows in torch.randperm(n, generator=gen).split(batch_size)]

    def step(t: int) -> Tensor:
        rows = batches[t]
        return nn.functional.cross_entropy(model(ids[rows], mask[rows]), labels[rows])

    def keep_vocabulary() -> None:
        if trigger_rows_from is not None:
            model.word_embeddings.weight.grad[:trigger_rows_from] = 0

    fit_steps(model, step, opt, len(batches), after_backward=keep_vocabulary)
    return model.eval()


def predict(model: TinyClassifier, ids: Tensor, mask: Tensor) -> Tensor:
    """``(n,)`` predicted classes (eval mode, no grad)."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(ids[i:i + 256], mask[i:i + 256]).argmax(1) for i in range(0, len(ids), 256)])


__all__ = ["HashEncoder", "TinyClassifier", "predict", "retrieve_top1", "train_classifier", "trigger_inputs"]
