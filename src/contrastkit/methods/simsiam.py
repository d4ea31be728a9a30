"""SimSiam (Chen & He, "Exploring Simple Siamese Representation Learning", CVPR 2021): BYOL without the
momentum target; the stop-gradient on the target branch is what prevents collapse."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.losses.ssl import NegativeCosine
from contrastkit.methods.byol import mlp_predictor
from contrastkit.methods.view_contrastive import ViewContrastive


class SimSiam(ViewContrastive):
    """``L = D(p_1, sg(z_2)) / 2 + D(p_2, sg(z_1)) / 2`` with ``D(p, z) = -cos(p, z)`` (Algorithm 1),
    ``z = g(f(x))``, ``p = h(z)``; gradients reach the encoder only through ``p``.

    Args:
        model: encoder + projector; loss: defaults to ``NegativeCosine(form="simsiam", stop_gradient=True)``
            (a loss with ``stop_gradient=False`` is refused: it collapses, Chen & He Fig. 2).
        predictor_hidden: hidden width of ``h``; other arguments as :class:`ViewContrastive`.
    """

    def __init__(self, model: nn.Module | None = None, loss: Any = None, *args: Any, predictor_hidden: int = 32,
                 **kwargs: Any) -> None:
        loss = loss if loss is not None else NegativeCosine(form="simsiam")
        if not isinstance(loss, NegativeCosine) or not loss.stop_gradient:
            raise ValueError("loss: SimSiam needs NegativeCosine with stop_gradient=True")
        super().__init__(model, loss, *args, **kwargs)
        self.predictor_hidden = predictor_hidden
        if self.model is not None and self.images is not None:
            self._build_predictor(self.images[:2])

    def _build_predictor(self, sample: Tensor) -> None:
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            dim = int(self.model(sample[:2])[1].shape[1])
        self.model.train(was)
        self.predictor = mlp_predictor(dim, self.predictor_hidden)

    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """See :meth:`ViewContrastive.bind`; also builds the predictor."""
        super().bind(images, labels, sample, loader)
        self._build_predictor(sample)

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        v1, v2 = self.views(batch["images"], step)[:2]
        _, z = self.model(torch.cat([v1, v2]))
        p1, p2 = self.predictor(z).chunk(2)
        z1, z2 = z.chunk(2)
        return {"loss": (self.loss_fn(p1, z2) + self.loss_fn(p2, z1)) / 2}  # the loss detaches its target

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [*self.model.parameters(), *self.predictor.parameters()]


__all__ = ["SimSiam"]
