"""COCONUT (Cappellazzo et al., ACL Findings 2024): class-incremental spoken-intent classification with
experience replay (ER), the negative-student positive-teacher supervised contrastive term on rehearsal
samples (NSPT) and the audio-text multimodal contrastive alignment (MM) on the current task's samples::

    L = CE_seen(classifier(f(x)), y)                       (ER: current + rehearsal rows)
        + lambda_nspt * NSPT(g(f(x)), g_T(f_T(x)); rehearsal rows as anchors)
        + lambda_mm * SupCon_audio<->text(g(f(x)), h(MiniLM(transcript)); current rows, same-intent positives)

``f`` the audio encoder, ``g`` its projection head, ``(f_T, g_T)`` the frozen copy after the previous task,
``h`` a trainable projection of the frozen MiniLM text embeddings. The paper trains a seq2seq SLU model; here
the decoder is a linear intent classifier over the seen intents (documented deviation).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.continual import frozen_copy
from contrastkit.losses import InfoNCE
from contrastkit.losses.coconut import NSPT
from contrastkit.speech import AudioEncoder
from contrastkit.training.base import StepModule
from contrastkit.training.sources import InMemorySource


class COCONUTModel(StepModule):
    """Audio encoder + intent classifier + projection heads; :meth:`start_task` sets the task's rows.

    Args:
        n_classes: every intent of the plan (the classifier's width); ``seen`` masks the logits.
        lambda_nspt, lambda_mm: weights of the two contrastive terms (0 turns a term off: ER alone).
        temperature: of both contrastive terms.
    """

    def __init__(self, n_classes: int, *, text_dim: int = 384, embed_dim: int = 64, hidden: int = 96,
                 lambda_nspt: float = 0.0, lambda_mm: float = 0.0, temperature: float = 0.1, batch_size: int = 32,
                 lr: float = 1e-3, seed: int = 0) -> None:
        placeholder = InMemorySource(labels=torch.zeros(1, dtype=torch.long))
        super().__init__(placeholder, batch_size=batch_size, lr=lr, seed=seed, optimizer="adam")
        self.encoder = AudioEncoder(hidden=hidden, out_dim=128)
        self.classifier = nn.Linear(128, n_classes)
        self.projector = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, embed_dim))
        self.text_projector = nn.Linear(text_dim, embed_dim)
        self.lambda_nspt, self.lambda_mm = float(lambda_nspt), float(lambda_mm)
        self.nspt = NSPT(temperature)
        self.mm = InfoNCE(temperature, mode="symmetric")
        self.teacher: nn.Module | None = None
        self.register_buffer("seen_mask", torch.zeros(n_classes, dtype=torch.bool), persistent=False)

    def start_task(self, features: Tensor, lengths: Tensor, labels: Tensor, text: Tensor, rehearsal: Tensor,
                   seen: list[int]) -> None:
        """Train next on these rows (current task + rehearsal buffer); the teacher is the model as it is now
        (``None`` before the first task is trained)."""
        self.source = InMemorySource(features=features, lengths=lengths, labels=labels, text=text,
                                     rehearsal=rehearsal)
        self.seen_mask.zero_()
        self.seen_mask[seen] = True

    def freeze_teacher(self) -> None:
        """The current encoder + projector become the (frozen) teacher of the next task."""
        self.teacher = frozen_copy(nn.Sequential(self.encoder, self.projector))

    def logits(self, features: Tensor, lengths: Tensor) -> Tensor:
        out = self.classifier(self.encoder(features, lengths))
        return out.masked_fill(~self.seen_mask, float("-inf"))

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        x, lengths, y = batch["features"], batch["lengths"], batch["labels"]
        h = self.encoder(x, lengths)
        logits = self.classifier(h).masked_fill(~self.seen_mask, float("-inf"))
        terms = {"er": nn.functional.cross_entropy(logits, y)}
        z = self.projector(h)
        rehearsal = batch["rehearsal"]
        if self.lambda_nspt > 0 and self.teacher is not None and rehearsal.any():
            with torch.no_grad():
                z_t = self.teacher[1](self.teacher[0](x, lengths))
            terms["nspt"] = self.nspt(z, z_t, labels=y, rehearsal=rehearsal)
        current = ~rehearsal
        if self.lambda_mm > 0 and int(current.sum()) >= 2:
            terms["mm"] = self.mm(z[current], self.text_projector(batch["text"][current]), labels=y[current])
        total = terms["er"] + self.lambda_nspt * terms.get("nspt", 0.0) + self.lambda_mm * terms.get("mm", 0.0)
        return {"loss": total, **terms}

    def trainable_parameters(self) -> Any:
        return [p for name, p in self.named_parameters() if p.requires_grad and not name.startswith("teacher")]


__all__ = ["COCONUTModel"]
