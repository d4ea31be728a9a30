"""BYOL (Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020): an online network with a predictor
regresses the projections of a momentum (EMA) target network; no negatives."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses.ssl import NegativeCosine
from contrastkit.methods.momentum import MomentumEncoder, cosine_momentum
from contrastkit.methods.view_contrastive import ViewContrastive


def mlp_predictor(dim: int, hidden: int) -> nn.Module:
    """``Linear(dim, hidden) - BN - ReLU - Linear(hidden, dim)``: BYOL's / SimSiam's predictor q."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, dim))


class BYOL(ViewContrastive):
    """BYOL on two augmented views.

    ``L = [2 - 2 cos(q(z_1), sg(z'_2))] + [2 - 2 cos(q(z_2), sg(z'_1))]`` (eq. 2 symmetrised) with
    ``z = g(f(x))`` online and ``z'`` from the target, an EMA of the online encoder and projector:
    ``xi <- tau xi + (1 - tau) theta`` with BYOL's ``tau(t) = 1 - (1 - tau_0)(cos(pi t / T) + 1) / 2``
    (:func:`~contrastkit.methods.momentum.cosine_momentum`, ``tau_0 = base_momentum``, ``T`` the
    trainer's ``max_steps``). The target moves once per optimizer step, before the step's forward pass.

    Args:
        model: online encoder + projector (:class:`EncoderWithHead`); loss: defaults to
            ``NegativeCosine(form="byol")``.
        predictor_hidden: hidden width of the predictor; base_momentum: ``tau_0`` in ``[0, 1]``.
        other arguments: as :class:`ViewContrastive`.
    """

    def __init__(self, model: nn.Module | None = None, loss: Any = None, *args: Any, predictor_hidden: int = 128,
                 base_momentum: float = 0.996, **kwargs: Any) -> None:
        super().__init__(model, loss if loss is not None else NegativeCosine(form="byol"), *args, **kwargs)
        if not isinstance(self.loss_fn, NegativeCosine):
            raise ValueError("loss: BYOL regresses targets with NegativeCosine, got "
                             f"{type(self.loss_fn).__name__}")
        m = base_momentum
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m <= 1:
            raise ValueError(f"base_momentum: expected a number in [0, 1], got {base_momentum!r}")
        self.base_momentum, self.predictor_hidden = float(m), predictor_hidden
        self._ema_step = -1
        if self.model is not None and self.images is not None:
            self._build_heads(self.images[:2])

    def _build_heads(self, sample: Tensor) -> None:
        """The predictor (sized from the projector's output on ``sample``) and the EMA target."""
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            _, z = self.model(sample[:2])
        self.model.train(was)
        self.predictor = mlp_predictor(int(z.shape[1]), self.predictor_hidden)
        self.target = MomentumEncoder(self.model)

    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """See :meth:`ViewContrastive.bind`; also builds the predictor and the target."""
        super().bind(images, labels, sample, loader)
        self._build_heads(sample)

    def momentum_at(self, step: int) -> float:
        total = int(self.trainer.max_steps) if self._trainer is not None and self.trainer.max_steps > 0 else 0
        return cosine_momentum(step, total, self.base_momentum) if total else self.base_momentum

    def update_target(self, step: int) -> None:
        """EMA step of the target with ``tau(step)``; once per optimizer step (not per micro-batch)."""
        if step != self._ema_step:
            self.target.update(self.momentum_at(step))
            self._ema_step = step

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        v1, v2 = self.views(batch["images"], step)[:2]
        if step > 0:
            self.update_target(step)
        _, z = self.model(torch.cat([v1, v2]))
        p1, p2 = self.predictor(z).chunk(2)
        with torch.no_grad():
            t1, t2 = self.target(torch.cat([v1, v2]))[1].chunk(2)
        loss = self.loss_fn(p1, t2) + self.loss_fn(p2, t1)
        return {"loss": loss}

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [*self.model.parameters(), *self.predictor.parameters()]


__all__ = ["BYOL", "mlp_predictor"]
