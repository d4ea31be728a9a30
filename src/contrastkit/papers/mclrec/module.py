"""MCLRec (Qin et al., SIGIR 2023, "Meta-optimized Contrastive Learning for Sequential Recommendation").

Two CL4SRec-augmented views are encoded, ``h~1 = f(g1(S)), h~2 = f(g2(S))``, and passed through two
learnable augmenters ``z~k = w_phi_k(h~k)`` (3-layer MLPs ``d -> d/2 -> d/4 -> d`` with GELU and an
L2-normalised output, official ``Extractor``). With ``L_con`` the NT-Xent loss (dot similarity, tau 1):

- ``L_cl1 = L_con(h~1, h~2)`` (Eq. 7), ``L_cl2 = L_con(z~1, z~2) + L_con(h~1, z~2) + L_con(h~2, z~1)`` (Eq. 9);
- ``R`` (Eqs. 11-13, :func:`contrastive_regularizer`): per anchor on the SimCLR scores of each of the three
  pairs ``(h~1, z~2), (h~2, z~1), (z~1, z~2)``, summed (official ``meta_rl``).

Meta-optimised two-stage update per batch (paper Algorithm 1):

1. encoder ``theta``: ``L0 = L_rec + lambda L_cl1 + beta (L_cl2 + 0.1 R)`` (Eq. 14, ``gamma = 0.1 beta`` as in
   paper Sec. 4.1.4); the augmenters are not stepped (their gradients are discarded);
2. augmenters ``phi``: re-encode the views with the updated encoder (no gradient into it) and step
   ``L1 = L_cl2 + 0.1 R`` (Eq. 15) on ``phi`` only -- the official ``calculate_loss(mode="step2")`` does not
   scale this stage by ``beta``, so ``R``'s weight relative to ``L_cl2`` is ``0.1`` in both stages.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.methods.sasrec import Batch
from contrastkit.papers.cl4srec.module import CL4SRec
from contrastkit.seqrec.encoders import SASRec


class Augmenter(nn.Module):
    """MCLRec's learnable augmenter: ``d -> d/2 -> d/4 -> d`` MLP with GELU, L2-normalised output."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 4:
            raise ValueError(f"dim: expected an embedding size >= 4, got {dim}")
        self.net = nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, dim // 4), nn.GELU(),
                                 nn.Linear(dim // 4, dim))

    def forward(self, h: Tensor) -> Tensor:
        return nn.functional.normalize(self.net(h), dim=-1)


def regularizer_from_scores(positives: Tensor, negatives: Tensor) -> Tensor:
    """MCLRec's contrastive regulariser (Eqs. 11-13) per anchor, as the official code computes it.

    For anchor ``i`` with positive score ``s+_i`` and negative scores ``s-_ij``::

        m_i = max_j s-_ij,  o_min_i = min(s+_i, m_i),  o_max_i = max(s+_i, m_i)
        R = mean_i [s+_i - o_min_i]_+ + mean_ij [o_max_i - s-_ij]_+

    (official ``MCLRec.meta_contrast_rl_1`` in ``recbole/model/sequential_recommender/mclrec.py``: the
    min / max run along each anchor's row, not over the whole batch as the paper's notation reads).

    Args:
        positives: ``(N,)`` one positive score per anchor.
        negatives: ``(N, K)`` the anchor's negative scores, ``K >= 1``.

    Raises:
        ValueError: mismatched or empty shapes.
    """
    if positives.ndim != 1 or negatives.ndim != 2 or negatives.shape[0] != positives.shape[0]:
        raise ValueError(f"positives/negatives: expected (N,) and (N, K), got {tuple(positives.shape)} and "
                         f"{tuple(negatives.shape)}")
    if positives.numel() == 0 or negatives.shape[1] == 0:
        raise ValueError("positives/negatives: the regulariser needs at least one anchor and one negative each")
    hardest = negatives.max(dim=1).values
    o_min, o_max = torch.minimum(positives, hardest), torch.maximum(positives, hardest)
    return torch.relu(positives - o_min).mean() + torch.relu(o_max[:, None] - negatives).mean()


def pair_regularizer(a: Tensor, b: Tensor) -> Tensor:
    """``R`` of one view pair on its SimCLR score matrix: ``z = [a; b]`` (``2B`` anchors), dot products
    ``z z^T``, anchor ``i``'s positive its partner ``(i + B) mod 2B``, its negatives the other ``2B - 2`` rows.

    Args:
        a, b: ``(B, d)`` paired representations, ``B >= 2``.
    """
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"a/b: expected two (B, d) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    if n < 2:
        raise ValueError(f"a: the regulariser needs a batch of >= 2 rows, got {n}")
    z = torch.cat([a, b])
    scores = z @ z.T
    partner = torch.arange(2 * n, device=z.device).roll(n)
    keep = torch.ones_like(scores, dtype=torch.bool)
    keep.fill_diagonal_(False)
    keep[torch.arange(2 * n, device=z.device), partner] = False
    positives = scores.gather(1, partner[:, None]).squeeze(1)
    return regularizer_from_scores(positives, scores[keep].view(2 * n, 2 * n - 2))


def contrastive_regularizer(h1: Tensor, h2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
    """``R`` summed over the three view pairs of ``L_cl2``: ``(h~1, z~2), (h~2, z~1), (z~1, z~2)``
    (official ``MCLRec.meta_rl``), each by :func:`pair_regularizer`."""
    return pair_regularizer(h1, z2) + pair_regularizer(h2, z1) + pair_regularizer(z1, z2)


class MCLRec(CL4SRec):
    """MCLRec on a SASRec encoder (manual optimisation: encoder step, then augmenter step).

    The two loss weights carry the official code's names (``--lmd`` / ``--beta`` of ``run_seq.py``, read as
    ``config['lmd']`` / ``config['beta']`` in ``recbole/model/sequential_recommender/mclrec.py``); their
    defaults are the official ``recbole/properties/model/MCLRec.yaml`` ones (also ``scripts/train_ml-1m.sh``).

    Args:
        lmd: ``lambda`` on ``L_cl1`` (official default 0: no plain view-to-view term).
        beta: ``beta`` on ``L_cl2 + reg_factor R`` in stage 1 (official default 0.01).
        reg_factor: weight of ``R`` relative to ``L_cl2`` in both stages (official: 0.1).
        aug_lr: learning rate of the augmenters (paper: ``l' = 1e-3``).
        Other arguments as :class:`CL4SRec`, except ``cl_weight`` (CL4SRec's ``lambda``; here ``lmd``).

    Raises:
        TypeError: ``cl_weight`` given (MCLRec's ``lambda`` is ``lmd``).
    """

    def __init__(self, encoder: SASRec, *, lmd: float = 0.0, beta: float = 0.01, reg_factor: float = 0.1,
                 aug_lr: float = 1e-3, **kwargs: object) -> None:
        if "cl_weight" in kwargs:
            raise TypeError("cl_weight: MCLRec's weight on L_cl1 is 'lmd' (and 'beta' the one on L_cl2 + R)")
        super().__init__(encoder, cl_weight=lmd, **kwargs)  # type: ignore[arg-type]
        self.automatic_optimization = False
        self.lmd, self.beta = float(lmd), float(beta)
        self.reg_factor, self.aug_lr = float(reg_factor), aug_lr
        self.augmenter1 = Augmenter(encoder.hidden_size)
        self.augmenter2 = Augmenter(encoder.hidden_size)

    def augmenter_parameters(self) -> list[nn.Parameter]:
        return [*self.augmenter1.parameters(), *self.augmenter2.parameters()]

    def contrast_terms(self, h1: Tensor, h2: Tensor) -> dict[str, Tensor]:
        """``L_cl1``, ``L_cl2`` and ``R`` of two view representations."""
        z1, z2 = self.augmenter1(h1), self.augmenter2(h2)
        cl2 = self.cl_loss(z1, z2) + self.cl_loss(h1, z2) + self.cl_loss(h2, z1)
        return {"cl1": self.cl_loss(h1, h2), "cl2": cl2, "reg": contrastive_regularizer(h1, h2, z1, z2)}

    def encoder_step_loss(self, batch: Batch, views: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Stage-1 objective ``L0`` (Eq. 14) on pre-drawn augmented ``views``."""
        inputs, targets, _ = batch
        rec, _ = self.rec_loss(inputs, targets)
        t = self.contrast_terms(self.encoder.encode(views[0]), self.encoder.encode(views[1]))
        loss = rec + self.lmd * t["cl1"] + self.beta * (t["cl2"] + self.reg_factor * t["reg"])
        return {"loss": loss, "rec": rec, **t}

    def augmenter_step_loss(self, views: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Stage-2 objective ``L1`` (Eq. 15): the encoder is run without gradient."""
        with torch.no_grad():
            h1, h2 = self.encoder.encode(views[0]), self.encoder.encode(views[1])
        t = self.contrast_terms(h1, h2)
        return {"loss": t["cl2"] + self.reg_factor * t["reg"], **t}

    def losses(self, batch: Batch) -> dict[str, Tensor]:
        return self.encoder_step_loss(batch, self.draw_views(batch[0]))

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        """Both stages on the rows of step ``int(batch)`` (the tick; ``global_step`` counts both optimizers)."""
        enc_opt, aug_opt = self.optimizers()  # type: ignore[misc]
        data = self.step_batch(int(batch))
        batch = (data["inputs"], data["targets"], data["users"])
        views = self.draw_views(batch[0])
        # Stage 1: theta only. The augmenters' gradients from L0 are discarded before stage 2.
        stage1 = self.encoder_step_loss(batch, views)
        enc_opt.zero_grad()
        aug_opt.zero_grad()
        self.manual_backward(stage1["loss"])
        enc_opt.step()
        # Stage 2: phi only, with the views re-encoded by the updated encoder.
        aug_opt.zero_grad()
        enc_opt.zero_grad()
        stage2 = self.augmenter_step_loss(views)
        self.manual_backward(stage2["loss"])
        aug_opt.step()
        self.log_terms({**{k: v.detach() for k, v in stage1.items()}, "aug_loss": stage2["loss"].detach()},
                       len(batch[0]))
        return stage1["loss"].detach()

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.encoder.parameters(), lr=self.lr, weight_decay=self.weight_decay),
                torch.optim.Adam(self.augmenter_parameters(), lr=self.aug_lr)]


__all__ = ["MCLRec", "Augmenter", "contrastive_regularizer", "pair_regularizer", "regularizer_from_scores"]
