"""Hydra / SimLAP training (arXiv 2410.18200): label-pair gates let arbitrary class pairs be positives."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from contrastkit.losses.hydra import PAIR_MODES, Hydra, sample_partner_labels
from contrastkit.training.base import EncoderStepModule, source_field
from contrastkit.training.sources import InMemorySource


class PairGate(nn.Module):
    """Gate of a class pair: ``g(y1, y2) = sigmoid(MLP((E[y1] + E[y2]) / 2))`` in ``(0, 1)^out_dim``.

    ``MLP = ReLU, BN, Linear(embed, hidden), ReLU, BN(hidden), Linear(hidden, out_dim)`` as in the
    reference code (there ``embed = 512``, ``hidden = 1024``, ``out_dim = 256``). Symmetric in
    ``(y1, y2)`` by construction.
    """

    def __init__(self, num_classes: int, out_dim: int, *, embed_dim: int = 64, hidden_dim: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_classes, embed_dim)
        self.mlp = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(embed_dim), nn.Linear(embed_dim, hidden_dim), nn.ReLU(),
                                 nn.BatchNorm1d(hidden_dim), nn.Linear(hidden_dim, out_dim))
        self.num_classes = num_classes

    def forward(self, y1: Tensor, y2: Tensor) -> Tensor:
        return torch.sigmoid(self.mlp((self.embedding(y1) + self.embedding(y2)) / 2))


def gate_entropy(gates: Tensor) -> Tensor:
    """Mean Bernoulli entropy ``-g log g - (1 - g) log(1 - g)`` of the gates: the paper's penalty pushing
    gates towards binary values (the reference code only logs it)."""
    g = gates.clamp(1e-6, 1 - 1e-6)
    return -(g * g.log() + (1 - g) * (1 - g).log()).mean()


class HydraContrastive(EncoderStepModule):
    """Single-view supervised contrastive training with partner-class positives (Hydra / SimLAP).

    Each step: one augmented view ``z = g(f(x))``; partner labels ``y2`` by ``pair_mode``
    (``identical`` = SupCon-style, ``arbitrary`` = a random batch row's label, ``distinct``); gates
    ``PairGate(y, y2)`` when ``gated`` (else the ungated ablation: SupCon on partner positives); loss
    :class:`~contrastkit.losses.hydra.Hydra`, plus ``gate_entropy_weight *`` :func:`gate_entropy` (default
    0; the paper's binary-gate penalty, its weight unverified). Probes use the backbone ``f``.

    Under DDP each rank embeds its share of the batch; the embeddings and labels are gathered (autograd)
    and the partner labels, gates and loss are computed on the global batch, identically on every rank.
    """

    def __init__(self, encoder: nn.Module, projector: nn.Module, augment: Callable[[Tensor], Tensor] | None,
                 images: Tensor, labels: Tensor, *, num_classes: int, pair_mode: str = "arbitrary",
                 gated: bool = True, gate_kwargs: dict[str, int] | None = None, temperature: float = 0.1,
                 gate_entropy_weight: float = 0.0,
                 batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0) -> None:
        super().__init__(InMemorySource(images=images, labels=labels.long()), batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, seed=seed, optimizer="adamw")
        if pair_mode not in PAIR_MODES:
            raise ValueError(f"pair_mode: unknown option {pair_mode!r}; expected one of {PAIR_MODES}")
        self.encoder, self.projector, self.augment = encoder, projector, augment
        out_dim = getattr(projector, "out_dim", None)
        if out_dim is None:  # infer the gate width without touching BN statistics
            was = encoder.training, projector.training
            encoder.eval(), projector.eval()
            with torch.no_grad():
                out_dim = projector(encoder(images[:2])).shape[1]
            encoder.train(was[0]), projector.train(was[1])
        self.gate = PairGate(num_classes, out_dim, **(gate_kwargs or {})) if gated else None
        self.loss_fn = Hydra(temperature)
        self.num_classes, self.pair_mode = num_classes, pair_mode
        if gate_entropy_weight < 0:
            raise ValueError(f"gate_entropy_weight: expected a number >= 0, got {gate_entropy_weight!r}")
        self.gate_entropy_weight = float(gate_entropy_weight)

    images = source_field("images")
    labels = source_field("labels")

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        x, y = batch["images"], batch["labels"]
        if self.augment is not None:
            x = self.augment(x)
        z = self.projector(self.encoder(x))
        if self.world_size > 1:  # the global batch on every rank; partners drawn identically everywhere
            z, y = self.gather(z), self.gather(y, grad=False)
            self.shared_seed(step)
        y2 = sample_partner_labels(y, self.pair_mode, num_classes=self.num_classes)
        gates = self.gate(y, y2) if self.gate is not None else None
        loss = self.loss_fn(z, labels=y, partner_labels=y2, gates=gates)
        if gates is not None and self.gate_entropy_weight > 0:
            loss = loss + self.gate_entropy_weight * gate_entropy(gates)
        return {"loss": loss}


__all__ = ["HydraContrastive", "PairGate", "gate_entropy"]
