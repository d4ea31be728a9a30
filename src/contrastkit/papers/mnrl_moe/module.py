"""Training module of the MNRL + enforced-routing mixture-of-experts miniature: the top layer(s) of
all-MiniLM-L6-v2 on cached lower-layer states, trained with multiple-negatives ranking."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from contrastkit.text.interop import mnrl
from contrastkit.text.moe import TopLayers, domain_experts
from contrastkit.training import InMemorySource, StepModule


class PairMNRL(StepModule):
    """Anchor/positive text pairs, each with a domain, trained with MNRL (``scale * cos``, in-batch negatives).

    Args:
        top: the trainable :class:`~contrastkit.text.moe.TopLayers` (converted to domain experts for the
            MoE arm: the domain of each pair then routes both texts).
        a_states, a_mask, p_states, p_mask: ``(n, L, d)`` / ``(n, L)`` cached lower-layer states of the anchors
            and positives (:func:`~contrastkit.text.moe.lower_states`).
        domains: ``(n,)`` int64 domain of each pair.
        scale: MNRL scale ``s`` (``1 / temperature``; sentence-transformers' default 20).
        kwargs: :class:`~contrastkit.training.StepModule` settings (``batch_size``, ``lr``, ``seed``, ...).
    """

    def __init__(self, top: TopLayers, a_states: Tensor, a_mask: Tensor, p_states: Tensor, p_mask: Tensor,
                 domains: Tensor, *, scale: float = 20.0, **kwargs: Any) -> None:
        super().__init__(InMemorySource(a_states=a_states, a_mask=a_mask, p_states=p_states, p_mask=p_mask,
                                        domain=domains), **kwargs)
        self.top = top
        self.routed = bool(domain_experts(top))
        self.loss = mnrl(scale)

    def embed(self, states: Tensor, mask: Tensor, domains: Tensor) -> Tensor:
        """Pooled ``(n, d)`` embeddings (routed by ``domains`` when the layers hold experts)."""
        return self.top(states, mask, domains if self.routed else None)

    def loss_terms(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        a = self.embed(batch["a_states"], batch["a_mask"], batch["domain"])
        p = self.embed(batch["p_states"], batch["p_mask"], batch["domain"])
        return {"loss": self.loss(a, p)}


__all__ = ["PairMNRL"]
