"""SimCTG token-level contrastive objective (Su et al., NeurIPS 2022, "A Contrastive Framework for
Neural Text Generation", Eq. 2-3).

``L = L_MLE + L_CL`` with, over the valid tokens of each sequence ``x``::

    L_CL = 1/(|x|(|x|-1)) sum_i sum_{j != i} max(0, rho - s(h_i, h_i) + s(h_i, h_j)),   s = cos

``h`` is the last-layer hidden state (after the final norm) and ``rho = 0.5``. As in the official
``SimCTGLoss``, the pair terms of every sequence of the batch are pooled and divided by the number of
valid ``(i, j != i)`` pairs, and ``s(h_i, h_i)`` is the diagonal of the computed cosine matrix.
This is a margin form, not InfoNCE, so it reuses only the core cosine
(:func:`contrastkit.functional.similarity.pairwise_cosine`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_embeddings, check_non_negative_float, compute_dtype
from contrastkit.functional.similarity import pairwise_cosine
from contrastkit.losses.base import ContrastiveLoss

__all__ = ["SimCTGLoss", "simctg_contrastive_loss", "simctg_lm_loss"]


def simctg_contrastive_loss(hidden: Tensor, attention_mask: Tensor | None = None, margin: float = 0.5) -> Tensor:
    """SimCTG's ``L_CL`` of ``(B, T, E)`` token representations; padding (mask 0) is excluded.

    Args:
        hidden: ``(B, T, E)`` last-layer hidden states.
        attention_mask: ``(B, T)`` 1 for tokens, 0 for padding (any padding side); ``None``: no padding.
        margin: ``rho >= 0`` (paper default 0.5); ``rho = 0`` gives a zero loss.
    """
    check_embeddings(hidden, "hidden", rank=3)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
        raise ValueError(f"margin: expected a number >= 0, got {margin!r}")
    B, T, _ = hidden.shape
    if attention_mask is None:
        valid = torch.ones(B, T, dtype=torch.bool, device=hidden.device)
    else:
        if tuple(attention_mask.shape) != (B, T):
            raise ValueError(f"attention_mask: expected shape {(B, T)}, got {tuple(attention_mask.shape)}")
        valid = attention_mask.bool()
    h = hidden.to(compute_dtype(hidden))
    sim = pairwise_cosine(h, h)  # (B, T, T)
    gold = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)
    loss = F.relu(margin - gold + sim)
    pair = valid[:, :, None] & valid[:, None, :] & ~torch.eye(T, dtype=torch.bool, device=h.device)
    count = pair.sum()
    if count == 0:
        raise ValueError("attention_mask: no sequence has two valid tokens, SimCTG needs pairs")
    return (loss * pair).sum() / count


class SimCTGLoss(ContrastiveLoss):
    """SimCTG's training loss ``L_MLE + cl_weight * L_CL`` (Su et al., NeurIPS 2022, Eq. 2-3).

    Call ``loss(hidden, logits, input_ids, attention_mask=None)`` with the last-layer hidden states
    ``(B, T, E)``, the LM logits ``(B, T, V)`` and the ids ``(B, T)`` of a causal LM's batch:
    ``L_MLE`` is the next-token NLL over the valid targets (``logits[:, :-1]`` against
    ``input_ids[:, 1:]``; half-precision logits are upcast to float32), ``L_CL`` is
    :func:`simctg_contrastive_loss` of ``hidden``. :meth:`parts` gives ``{"mle", "cl"}``.

    Args:
        margin: ``rho >= 0`` (paper 0.5).
        cl_weight: weight of ``L_CL`` (paper 1.0).
        reduction: ``mean`` only: both terms are means over the batch's tokens / token pairs.

    Raises:
        ValueError / TypeError: ``hidden`` not ``(B, T, E)``, ``logits`` not ``(B, T, V)`` of the same
        ``B, T``, ``input_ids`` not ``(B, T)`` integers, ``attention_mask`` of another shape.
    """

    citation: ClassVar[str] = "Su et al. 2022, NeurIPS, A Contrastive Framework for Neural Text Generation"
    _config_keys: ClassVar[tuple[str, ...]] = ("margin", "cl_weight")
    reductions: ClassVar[tuple[str, ...]] = ("mean",)
    part_names: ClassVar[tuple[str, ...]] = ("mle", "cl")

    def __init__(self, margin: float = 0.5, cl_weight: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = check_non_negative_float(margin, "margin")
        self.cl_weight = check_non_negative_float(cl_weight, "cl_weight")

    def parts(self, hidden: Tensor, logits: Tensor, input_ids: Tensor,
              attention_mask: Tensor | None = None) -> dict[str, Tensor]:
        """``{"mle": L_MLE, "cl": L_CL}`` (unweighted; same arguments as the call)."""
        check_embeddings(hidden, "hidden", rank=3)
        check_embeddings(logits, "logits", rank=3)
        B, T = hidden.shape[:2]
        if tuple(logits.shape[:2]) != (B, T):
            raise ValueError(f"logits: expected shape ({B}, {T}, vocab) like hidden, got {tuple(logits.shape)}")
        if not isinstance(input_ids, Tensor) or input_ids.is_floating_point() or tuple(input_ids.shape) != (B, T):
            raise ValueError(f"input_ids: expected an integer tensor of shape {(B, T)}, got "
                             f"{getattr(input_ids, 'dtype', type(input_ids).__name__)} "
                             f"{tuple(getattr(input_ids, 'shape', ()))}")
        shifted = logits[:, :-1].to(compute_dtype(logits))
        target = input_ids[:, 1:]
        if attention_mask is not None:
            if tuple(attention_mask.shape) != (B, T):
                raise ValueError(f"attention_mask: expected shape {(B, T)}, got {tuple(attention_mask.shape)}")
            target = target.masked_fill(attention_mask[:, 1:] == 0, -100)
        mle = F.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), target.reshape(-1), ignore_index=-100)
        return {"mle": mle, "cl": simctg_contrastive_loss(hidden, attention_mask, self.margin)}

    def forward(self, hidden: Tensor, logits: Tensor, input_ids: Tensor,
                attention_mask: Tensor | None = None) -> Tensor:
        """``L_MLE + cl_weight * L_CL`` (scalar)."""
        parts = self.parts(hidden, logits, input_ids, attention_mask)
        return parts["mle"] + self.cl_weight * parts["cl"]


def simctg_lm_loss(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    *,
    margin: float = 0.5,
    cl_weight: float = 1.0,
) -> dict[str, Any]:
    """:class:`SimCTGLoss` of a causal LM on a batch (the model is run with ``output_hidden_states``).

    Returns ``{"loss", "mle", "cl"}``; ``loss`` carries the gradient.
    """
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    loss = SimCTGLoss(margin, cl_weight)
    parts = loss.parts(out.hidden_states[-1], out.logits, input_ids, attention_mask)
    return {"loss": parts["mle"] + loss.cl_weight * parts["cl"], **parts}
