"""CLAPS: contrastive learning with adversarial perturbations for conditional text generation
(Lee, Lee & Hwang, ICLR 2021, "Contrastive Learning with Adversarial Perturbations for Conditional
Text Generation"; code seanie12/CLAPS ``AdvContrastiveSummarizer``).

For a seq2seq model with encoder states ``H^x``, decoder states ``H^y`` (before the LM head),
projection ``g(H) = ReLU(W H + b)`` and masked mean pooling ``z = pool(g(H))``:

* imposter (hard negative, small perturbation that lowers the likelihood)::

      H~ = H^y + eps_neg * u,   u_t = grad_{H_t} L_MLE / ||grad_{H_t} L_MLE||_2

* distant target (hard positive, large perturbation that keeps the likelihood)::

      H' = H^y + eps_pos * unit(grad_H L_cont(z_x, z(H)))
      H_bar = H' - eps_pos * unit(grad_{H'} KL(p(.|H^y) || p(.|H')))

* loss ``L = L_MLE + 0.5 (L_1 + L_2)`` where row ``i`` of ``L_1`` is
  ``CE([cos(z_x^i, z_y^j)/tau]_j ++ [cos(z_x^i, z~^i)/tau], i)`` (only row ``i``'s own imposter is an
  extra column) and ``L_2`` is the same with the diagonal replaced by ``cos(z_x^i, z_bar^i)``.

State space (``rescaled_states``): T5 multiplies the decoder output by ``d_model^-0.5`` before its tied LM
head. The official code applies that rescaling first and then builds the projection, the imposter and the
distant target on the *rescaled* states ``H^y d^-0.5``, so ``eps`` is measured in that space.
``rescaled_states=True`` follows the code; ``False`` (the default, kept for compatibility) perturbs the
raw decoder states, where the same ``eps`` is ``sqrt(d_model)`` times smaller relative to the states.

Choice on ``tau`` in ``L_2``: the official code computes ``L_2`` on raw cosines (no division by tau)
while the paper writes every similarity over tau. ``tau_in_l2=False`` (default) follows the code, which
produced the published numbers; ``tau_in_l2=True`` follows the paper's formula.

The per-row imposter column is not the shared ``negatives=`` of the core ``InfoNCE`` (that would make
every row's imposter a negative of every anchor), so both terms use the core row form
:func:`contrastkit.functional.forms.info_nce_rows` on explicitly built logits; the in-batch source-target
loss ``L_cont`` (naive contrastive baseline and the distant-target direction) is the core ``InfoNCE``.
Perturbations use ``torch.autograd.grad`` on detached copies, so model parameter gradients are never
touched (the official code calls ``backward`` and then ``zero_grad``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import (
    check_choice,
    check_embeddings,
    check_positive_float,
    check_same_shape,
    compute_dtype,
)
from contrastkit.functional.forms import info_nce_rows
from contrastkit.functional.similarity import pairwise_cosine
from contrastkit.losses import InfoNCE
from contrastkit.losses.base import ContrastiveLoss

__all__ = ["CLAPS", "CLAPSLoss", "claps_logits_loss"]

MODES = ("claps", "naive", "mle")


def _unit(g: Tensor) -> Tensor:
    # per target position; zero gradients (padding) give a zero step instead of NaN
    return g / g.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class CLAPSLoss(ContrastiveLoss):
    """CLAPS's contrastive term with one imposter per row (Lee et al., ICLR 2021, Eq. 4 and 7).

    Row ``i``: ``l_i = CE([S_i1 .. S_iN, s_imp_i] / tau, i)`` with ``S_ij = cos(zx_i, zy_j)`` and
    ``s_imp_i = cos(zx_i, z_imposter_i)`` (row ``i``'s own imposter is its only extra column);
    ``z_positive`` (the distant targets) replaces the diagonal of ``S`` (``L_2``). ``tau=None`` uses the
    raw cosines (the official code's ``L_2``). Call ``loss(zx, zy, z_imposter, z_positive=None)``, all
    ``(N, d)``.

    Args:
        tau: temperature ``> 0`` (paper 0.1) or ``None``.
        reduction: ``mean`` (the paper's), ``sum`` or ``none`` (``l_i`` per row).

    Raises:
        ValueError / TypeError: ``zx`` not ``(N, d)``, another vector batch of another shape, a bad ``tau``.
    """

    citation: ClassVar[str] = ("Lee et al. 2021, ICLR, Contrastive Learning with Adversarial Perturbations "
                               "for Conditional Text Generation")
    _config_keys: ClassVar[tuple[str, ...]] = ("tau",)

    def __init__(self, tau: float | None = 0.1, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.tau = None if tau is None else check_positive_float(tau, "tau")

    def forward(self, zx: Tensor, zy: Tensor, z_imposter: Tensor, z_positive: Tensor | None = None) -> Tensor:
        check_embeddings(zx, "zx")
        for name, z in (("zy", zy), ("z_imposter", z_imposter), ("z_positive", z_positive)):
            if z is not None or name != "z_positive":
                check_embeddings(z, name)
                check_same_shape(zx, z, "zx", name)
        dtype = compute_dtype(zx, zy)  # half inputs: the rows are computed in float32
        zx, zy, z_imposter = zx.to(dtype), zy.to(dtype), z_imposter.to(dtype)
        z_positive = None if z_positive is None else z_positive.to(dtype)
        S = pairwise_cosine(zx, zy)
        if z_positive is not None:
            S = S.clone()
            idx = torch.arange(S.shape[0], device=S.device)
            S[idx, idx] = F.cosine_similarity(zx, z_positive, dim=-1)
        imp = F.cosine_similarity(zx, z_imposter, dim=-1)[:, None]
        logits = torch.cat([S, imp], 1)
        if self.tau is not None:
            logits = logits / self.tau
        B = S.shape[0]
        weight = torch.cat([torch.eye(B, dtype=logits.dtype, device=logits.device),
                            logits.new_zeros(B, 1)], 1)
        rows, _ = info_nce_rows(logits, weight, torch.ones_like(weight, dtype=torch.bool))
        return self.reduce(rows)


def claps_logits_loss(zx: Tensor, zy: Tensor, z_imposter: Tensor, z_positive: Tensor | None,
                      tau: float | None) -> Tensor:
    """Mean over rows of ``CE([S | s_imp], i)`` (:class:`CLAPSLoss`); ``z_positive`` replaces the diagonal
    of ``S``, ``tau=None``: raw cosines (the official code's ``L_2``)."""
    return CLAPSLoss(tau)(zx, zy, z_imposter, z_positive)


class CLAPS(nn.Module):
    """A seq2seq LM (T5 / BART-like ``transformers`` model) trained with CLAPS, naive contrastive or MLE.

    Args:
        model: an encoder-decoder LM with ``labels=`` support (e.g. ``T5ForConditionalGeneration``).
        mode: ``claps`` (imposter + distant target), ``naive`` (in-batch InfoNCE between ``z_x`` and
            ``z_y``) or ``mle``.
        tau: temperature (paper 0.1). eps_pos / eps_neg: perturbation sizes (paper 3.0 / 1.0).
        tau_in_l2: divide ``L_2``'s logits by ``tau`` (paper) instead of the code's raw cosines.
        rescaled_states: build the projection and the perturbations on T5's rescaled decoder states
            ``H^y d_model^-0.5`` (official code) instead of the raw ones (see the module doc).
    """

    def __init__(self, model: nn.Module, *, mode: str = "claps", tau: float = 0.1, eps_pos: float = 3.0,
                 eps_neg: float = 1.0, tau_in_l2: bool = False, rescaled_states: bool = False) -> None:
        super().__init__()
        self.model = model
        self.mode = check_choice(mode, "mode", MODES)
        self.tau = check_positive_float(tau, "tau")
        for name, v in (("eps_pos", eps_pos), ("eps_neg", eps_neg)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {v!r}")
        self.eps_pos, self.eps_neg, self.tau_in_l2 = float(eps_pos), float(eps_neg), tau_in_l2
        if not isinstance(rescaled_states, bool):
            raise TypeError(f"rescaled_states: expected a bool, got {type(rescaled_states).__name__}")
        self.rescaled_states = rescaled_states
        d = model.config.d_model
        self.proj = nn.Sequential(nn.Linear(d, d), nn.ReLU())
        self._cont = InfoNCE(temperature=self.tau, mode="a_to_b")

    # ----------------------------------------------------------------- pieces
    def _output_scale(self) -> float:
        """``d_model^-0.5`` for a tied T5 head (the model's own rescaling), else 1."""
        cfg = self.model.config
        scale = getattr(cfg, "scale_decoder_outputs", None)
        if scale is None:
            scale = getattr(cfg, "tie_word_embeddings", False) and cfg.model_type == "t5"
        return cfg.d_model ** -0.5 if scale else 1.0

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """The model's LM head on decoder states as :meth:`states` returns them (raw states are rescaled
        by ``d_model^-0.5`` for a tied T5 head; with ``rescaled_states`` they already are)."""
        if not self.rescaled_states:
            hidden = hidden * self._output_scale()
        return self.model.get_output_embeddings()(hidden)

    def pool(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """``z = masked_mean_t g(H_t)``."""
        m = mask.to(hidden.dtype)[..., None]
        return (self.proj(hidden) * m).sum(1) / m.sum(1).clamp_min(1.0)

    def states(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Encoder / decoder states and the teacher-forced NLL (``labels`` use -100 for padding); ``hy`` is
        rescaled by ``d_model^-0.5`` when ``rescaled_states`` (the space the perturbations act in)."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels,
                         output_hidden_states=True, return_dict=True)
        hy = out.decoder_hidden_states[-1]
        if self.rescaled_states:
            hy = hy * self._output_scale()
        return {"hx": out.encoder_last_hidden_state, "hy": hy, "nll": out.loss, "logits": out.logits}

    def _nll(self, hidden: Tensor, labels: Tensor) -> Tensor:
        logits = self.lm_logits(hidden).float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)

    def imposter(self, hy: Tensor, labels: Tensor, eps: float | None = None) -> Tensor:
        """``H~ = H^y + eps_neg * unit(grad_H L_MLE)`` (detached; no parameter gradients)."""
        eps = self.eps_neg if eps is None else eps
        h = hy.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self._nll(h, labels), h)
        return hy.detach() + eps * _unit(g)

    def kl(self, hy: Tensor, h_other: Tensor, labels: Tensor) -> Tensor:
        """``(1/#tok) sum_t sum_v p_t(v|H^y) [log p_t(v|H^y) - log p_t(v|H')]`` over target tokens."""
        mask = (labels != -100).to(torch.float32)
        logp = torch.log_softmax(self.lm_logits(hy.detach()).float(), -1)
        logq = torch.log_softmax(self.lm_logits(h_other).float(), -1)
        per_tok = (logp.exp() * (logp - logq)).sum(-1)
        return (per_tok * mask).sum() / mask.sum().clamp_min(1.0)

    def distant_target(self, zx: Tensor, hy: Tensor, labels: Tensor,
                       eps: float | None = None) -> tuple[Tensor, Tensor]:
        """``(H', H_bar)``: push away from the source by ``L_cont``, then pull the likelihood back."""
        eps = self.eps_pos if eps is None else eps
        mask = labels != -100
        h = hy.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self._cont(zx.detach(), self.pool(h, mask)), h)
        far = hy.detach() + eps * _unit(g)
        h2 = far.clone().requires_grad_(True)
        (g2,) = torch.autograd.grad(self.kl(hy, h2, labels), h2)
        return far, far - eps * _unit(g2)

    # ----------------------------------------------------------------- loss
    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor) -> dict[str, Any]:
        """``{"loss", "nll", "l1", "l2"}`` (``l1``/``l2`` only in the contrastive modes)."""
        st = self.states(input_ids, attention_mask, labels)
        nll = st["nll"]
        if self.mode == "mle":
            return {"loss": nll, "nll": nll}
        tgt_mask = labels != -100
        zx = self.pool(st["hx"], attention_mask)
        zy = self.pool(st["hy"], tgt_mask)
        if self.mode == "naive":
            cont = self._cont(zx, zy)
            return {"loss": nll + cont, "nll": nll, "l1": cont}
        z_imp = self.pool(self.imposter(st["hy"], labels), tgt_mask)
        _, h_bar = self.distant_target(zx, st["hy"], labels)
        z_bar = self.pool(h_bar, tgt_mask)
        l1 = claps_logits_loss(zx, zy, z_imp, None, self.tau)
        l2 = claps_logits_loss(zx, zy, z_imp, z_bar, self.tau if self.tau_in_l2 else None)
        return {"loss": nll + 0.5 * (l1 + l2), "nll": nll, "l1": l1, "l2": l2}
