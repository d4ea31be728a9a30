"""BLTO (Sun et al., ICLR 2024, "Backdoor Contrastive Learning via Bi-level Trigger Optimization").

A trigger generator ``g_psi(x) = clip(x + eps tanh(G_psi(x)), 0, 1)``
(:class:`contrastkit.backdoor.LearnedTrigger`) is trained against a surrogate contrastive learner:

    max_psi  E S( f_theta*(t1(g_psi(x))), f_theta*(t2(x_r)) )
    s.t.     theta* = argmin_theta  L_CL( D_clean  U  g_psi(D_p) )

``S`` cosine similarity of encoder features, ``x`` any image, ``x_r`` a target-class reference
image, ``t1, t2`` the CL augmentation. First-order alternation (the paper's Algorithm 1): ``J``
inner steps of SimCLR on a batch whose poisoned rows are made by the *current* generator, then
``K`` outer generator steps on the frozen surrogate; the surrogate is re-initialised every ``R``
rounds so the trigger must work throughout a victim's training, not only at its end. The official
repository (``SWY666/SSL-backdoor-BLTO``) holds only a README, so J, K, R, the generator and the
surrogate are this library's choices (recipe).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_positive_int
from contrastkit.backdoor import LearnedTrigger, check_images
from contrastkit.losses.infonce import InfoNCE
from contrastkit.training.loop import optimizer_step


class BiLevelTriggerOptimizer:
    """First-order bi-level optimisation of a :class:`~contrastkit.backdoor.LearnedTrigger`.

    Args:
        trigger: the generator to train (its ``epsilon`` is the L-infinity budget).
        make_surrogate: ``() -> nn.Module`` returning a fresh ``(B, C, H, W) -> (h, z)`` network
            (encoder features ``h`` for ``S``, projector output ``z`` for the CL loss), e.g. an
            :class:`~contrastkit.methods.view_contrastive.EncoderWithHead`.
        augment: the CL augmentation ``x -> t(x)`` (random per call).
        images: ``(n, C, H, W)`` the attacker's view of the training set (clean rows).
        poison_index: rows of ``images`` the attacker releases with the trigger (target-class images).
        reference: ``(m, C, H, W)`` target-class reference images ``D_r``.
        temperature: NT-Xent temperature of the surrogate.
        batch_size, poison_per_batch: inner-batch rows (clean, and triggered by the current generator).
        surrogate_lr, generator_lr: Adam learning rates of ``theta`` and ``psi``.
        seed: seeds the surrogate initialisations and the batch draws.
    """

    def __init__(self, trigger: LearnedTrigger, make_surrogate: Callable[[], nn.Module],
                 augment: Callable[[Tensor], Tensor], images: Tensor, poison_index: Tensor, reference: Tensor, *,
                 temperature: float = 0.2, batch_size: int = 128, poison_per_batch: int = 16,
                 surrogate_lr: float = 1e-3, generator_lr: float = 1e-3, seed: int = 0) -> None:
        if not isinstance(trigger, LearnedTrigger):
            raise TypeError(f"trigger: expected a LearnedTrigger, got {type(trigger).__name__}")
        self.images = check_images(images, "images")
        self.reference = check_images(reference, "reference")
        if poison_index.numel() == 0:
            raise ValueError("poison_index: expected at least one row to poison")
        self.poison_index = poison_index.long()
        self.trigger, self.make_surrogate, self.augment = trigger, make_surrogate, augment
        self.loss = InfoNCE(temperature)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.poison_per_batch = check_positive_int(poison_per_batch, "poison_per_batch")
        self.surrogate_lr = surrogate_lr
        self.gen = torch.Generator().manual_seed(int(seed))
        self.seed = int(seed)
        self.generator_opt = torch.optim.Adam(trigger.generator.parameters(), lr=generator_lr)
        self.history: list[dict[str, float]] = []
        self.reinitialisations = 0
        self.reset_surrogate()

    def reset_surrogate(self) -> None:
        """A freshly initialised surrogate and its optimiser (the paper's regular re-initialisation)."""
        torch.manual_seed(self.seed * 1000 + self.reinitialisations)
        self.surrogate = self.make_surrogate()
        self.surrogate_opt = torch.optim.Adam(self.surrogate.parameters(), lr=self.surrogate_lr)
        self.reinitialisations += 1

    def _draw(self, n: int, k: int) -> Tensor:
        return torch.randint(0, n, (k,), generator=self.gen)

    def inner_batch(self) -> Tensor:
        """Clean rows plus poisoned rows made by the *current* generator (no gradient to ``psi``)."""
        clean = self.images[self._draw(len(self.images), self.batch_size - self.poison_per_batch)]
        rows = self.poison_index[self._draw(len(self.poison_index), self.poison_per_batch)]
        with torch.no_grad():
            poisoned = self.trigger(self.images[rows])
        return torch.cat([clean, poisoned])

    def inner_step(self) -> float:
        """One SimCLR step of the surrogate on :meth:`inner_batch`."""
        self.surrogate.train()
        x = self.inner_batch()
        _, z = self.surrogate(torch.cat([self.augment(x), self.augment(x)]))
        return float(optimizer_step(self.surrogate_opt, self.loss(*z.chunk(2))))

    def similarity(self, x: Tensor, ref: Tensor) -> Tensor:
        """``S = mean cos(f(t1(g(x))), f(t2(x_r)))`` on the current surrogate (differentiable in ``psi``)."""
        h_trig, _ = self.surrogate(self.augment(self.trigger(x)))
        h_ref, _ = self.surrogate(self.augment(ref))
        return F.cosine_similarity(h_trig, h_ref, dim=1).mean()

    def outer_step(self, x: Tensor | None = None, ref: Tensor | None = None) -> float:
        """One generator ascent step on ``S`` with the surrogate frozen (eval mode, no ``theta`` update);
        ``x``/``ref`` default to fresh draws of any image / reference image. Returns ``S`` before the step."""
        self.surrogate.eval()
        for p in self.surrogate.parameters():
            p.requires_grad_(False)
        x = self.images[self._draw(len(self.images), self.batch_size)] if x is None else x
        ref = self.reference[self._draw(len(self.reference), self.batch_size)] if ref is None else ref
        s = -optimizer_step(self.generator_opt, -self.similarity(x, ref))
        for p in self.surrogate.parameters():
            p.requires_grad_(True)
        return float(s.detach())

    def run(self, rounds: int, inner_steps: int, outer_steps: int, reinit_every: int) -> LearnedTrigger:
        """``rounds`` x (``inner_steps`` surrogate steps, ``outer_steps`` generator steps); a fresh
        surrogate every ``reinit_every`` rounds. Returns the trained trigger; ``history`` holds per-round
        mean CL loss and ``S``."""
        for name, v in (("rounds", rounds), ("inner_steps", inner_steps), ("outer_steps", outer_steps),
                        ("reinit_every", reinit_every)):
            check_positive_int(v, name)
        for n in range(rounds):
            if n > 0 and n % reinit_every == 0:
                self.reset_surrogate()
            cl = [self.inner_step() for _ in range(inner_steps)]
            sim = [self.outer_step() for _ in range(outer_steps)]
            self.history.append({"round": n, "cl_loss": sum(cl) / len(cl), "similarity": sum(sim) / len(sim)})
        self.trigger.eval()
        return self.trigger


__all__ = ["BiLevelTriggerOptimizer"]
