"""MoCo: momentum key encoder + memory queue of negatives (He et al., CVPR 2020; MoCo v2 head)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.losses.infonce import InfoNCE
from contrastkit.methods.momentum import MomentumEncoder
from contrastkit.methods.view_contrastive import ViewContrastive
from contrastkit.mining.queue import MemoryQueue


class MoCo(ViewContrastive):
    """Momentum contrast: queries from the online encoder, keys from its EMA copy.

    ``L = InfoNCE_{a->b}(q, k, negatives=queue)``: each query's positive is the key of the other
    view of its sample; the negatives are the in-batch keys and the last ``queue_size`` keys.
    After the step the keys are enqueued and the key encoder moves by
    ``theta_k <- m theta_k + (1 - m) theta_q``. Both the queue and the key encoder are buffers /
    submodules of this module, so checkpoints restore them and a resumed run replays exactly.
    """

    def __init__(self, *args: Any, queue_size: int = 4096, momentum: float = 0.99, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.loss_fn, InfoNCE) or self.loss_fn.mode != "a_to_b":
            raise ValueError("method.loss: MoCo needs an InfoNCE-family loss with mode='a_to_b' "
                             "(queries against keys and queued negatives)")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum: expected a number in [0, 1], got {momentum}")
        self.momentum, self.queue_size = momentum, queue_size
        if self.model is not None and self.images is not None:
            self._build_key_side(self.images[:2])

    def _build_key_side(self, sample: Tensor) -> None:
        self.key_encoder = MomentumEncoder(self.model)
        self.queue = MemoryQueue(self.queue_size, self._out_dim(sample))

    def bind(self, images: Tensor | None, labels: Tensor | None, sample: Tensor, loader: Any = None) -> None:
        """See :meth:`ViewContrastive.bind`; also builds the key encoder and the queue."""
        super().bind(images, labels, sample, loader)
        self._build_key_side(sample)

    def _out_dim(self, sample: Tensor) -> int:
        with torch.no_grad():
            was_training = self.model.training
            self.model.eval()
            _, z = self.model(sample[:2])
            self.model.train(was_training)
        return int(z.shape[1])

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        view_q, view_k = self.views(batch["images"], step)
        _, q = self.model(view_q)
        with torch.no_grad():
            self.key_encoder.update(self.momentum)
            _, k = self.key_encoder(view_k)
            k = F.normalize(k, dim=1)
        negatives = self.queue.negatives() if len(self.queue) else None
        loss = self.loss_fn(q, k, negatives=negatives)
        self.queue.enqueue(k)
        return {"loss": loss}
