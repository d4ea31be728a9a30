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

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_embeddings, compute_dtype
from contrastkit.functional.similarity import pairwise_cosine

__all__ = ["simctg_contrastive_loss", "simctg_lm_loss"]


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


def simctg_lm_loss(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    *,
    margin: float = 0.5,
    cl_weight: float = 1.0,
) -> dict[str, Any]:
    """``L_MLE + cl_weight * L_CL`` of a causal LM on a batch (next-token NLL over valid targets).

    Returns ``{"loss", "mle", "cl"}``; ``loss`` carries the gradient.
    """
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    logits = out.logits[:, :-1].float()
    target = input_ids[:, 1:]
    if attention_mask is not None:
        target = target.masked_fill(attention_mask[:, 1:] == 0, -100)
    mle = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
    cl = simctg_contrastive_loss(out.hidden_states[-1], attention_mask, margin)
    return {"loss": mle + cl_weight * cl, "mle": mle, "cl": cl}
