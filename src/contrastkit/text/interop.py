"""sentence-transformers interop: contrastkit losses as sentence-transformers training losses, and MNRL.

::

    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from contrastkit.text.interop import SentenceTransformerLoss, mnrl
    model = SentenceTransformer(path)
    loss = SentenceTransformerLoss(model, mnrl())         # or any contrastkit loss: InfoNCE(...), DCL(), SigLIP()
    SentenceTransformerTrainer(model=model, train_dataset=pairs, loss=loss).train()

Columns of the training dataset map to the contrastkit call as sentence-transformers' own losses read them
(``sentence_transformers/sentence_transformer/losses/multiple_negatives_ranking.py``): one column ->
``loss(a)``; ``(anchor, positive)`` -> ``loss(a, b)``; ``(anchor, positive, negative_1, ...)`` ->
``loss(a, b, negatives=cat(negative_1, ...))``, each negative column being extra candidates for every anchor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit._validation import check_bool, check_positive_float
from contrastkit.losses.base import ContrastiveLoss
from contrastkit.losses.infonce import InfoNCE

Call = Callable[[ContrastiveLoss, Sequence[Tensor], Tensor | None], Tensor]


def mnrl(scale: float = 20.0, **kwargs: Any) -> InfoNCE:
    """Multiple-negatives ranking loss (Henderson et al., "Efficient Natural Language Response Suggestion for
    Smart Reply", 2017, section 4.4; sentence-transformers' ``MultipleNegativesRankingLoss``) as an
    :class:`~contrastkit.losses.InfoNCE`.

    For anchors ``a_i``, positives ``p_i`` and optional hard negatives ``n_m`` (shared by every anchor, as the
    sentence-transformers loss does with its negative columns)::

        L = -(1/B) sum_i log softmax_j(scale * cos(a_i, c_j))[i],   c = [p_1..p_B, n_1..n_M]

    which is ``InfoNCE(temperature=1/scale, mode="a_to_b", similarity="cosine")`` called as
    ``loss(a, p, negatives=n)``. ``kwargs`` go to :class:`InfoNCE` (``tile_size``, ``gather_distributed``, ...).
    """
    scale = check_positive_float(scale, "scale")
    for key in ("temperature", "mode"):
        if key in kwargs:
            raise TypeError(f"{key}: fixed by mnrl (temperature = 1 / scale, mode = 'a_to_b')")
    return InfoNCE(temperature=1.0 / scale, mode="a_to_b", **{"similarity": "cosine", **kwargs})


def _default_call(loss: ContrastiveLoss, embeddings: Sequence[Tensor], labels: Tensor | None) -> Tensor:
    kw: dict[str, Any] = {} if labels is None else {"labels": labels}
    if len(embeddings) == 1:
        return loss(embeddings[0], **kw)
    if len(embeddings) == 2:
        return loss(embeddings[0], embeddings[1], **kw)
    return loss(embeddings[0], embeddings[1], negatives=torch.cat(list(embeddings[2:]), dim=0), **kw)


class SentenceTransformerLoss(nn.Module):
    """Any contrastkit loss as a sentence-transformers training loss (``loss(features, labels)``).

    Args:
        model: the ``SentenceTransformer`` being trained (sentence-transformers swaps in its wrapped copy).
        loss: a contrastkit loss (``ContrastiveLoss``), called on the columns' ``sentence_embedding`` tensors.
        use_labels: pass the dataset's ``label`` column as ``labels=`` (e.g. class ids for SupCon); by
            default labels are ignored, as sentence-transformers' MNRL ignores them.
        call: ``(loss, embeddings, labels) -> Tensor`` replacing the column mapping of the module docstring.

    ``compute_loss_from_embeddings(embeddings, labels)`` is the same without the forward pass (the
    sentence-transformers convention; used by cached / GradCache wrappers).
    """

    def __init__(self, model: nn.Module, loss: ContrastiveLoss, *, use_labels: bool = False,
                 call: Call | None = None) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a SentenceTransformer, got {type(model).__name__}")
        if not isinstance(loss, ContrastiveLoss):
            raise TypeError(f"loss: expected a contrastkit loss (ContrastiveLoss), got {type(loss).__name__}")
        if call is not None and not callable(call):
            raise TypeError(f"call: expected a callable (loss, embeddings, labels) -> Tensor, got {type(call)}")
        self.model = model
        self.loss = loss
        self.use_labels = check_bool(use_labels, "use_labels")
        self.call = call or _default_call

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        embeddings = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: Sequence[Tensor], labels: Tensor | None) -> Tensor:
        if not embeddings:
            raise ValueError("embeddings: expected at least one column of sentence embeddings")
        use = labels if self.use_labels else None
        if self.use_labels and (labels is None or labels.numel() == 0):
            raise ValueError("labels: use_labels=True but the dataset has no label column")
        return self.call(self.loss, embeddings, use)

    def get_config_dict(self) -> dict[str, Any]:
        """What sentence-transformers writes in a model card: the contrastkit loss and its settings."""
        return {"contrastkit_loss": type(self.loss).__name__, **self.loss.config()}

    @property
    def citation(self) -> str:
        return self.loss.citation


__all__ = ["SentenceTransformerLoss", "mnrl"]
