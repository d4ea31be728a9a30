"""Improved vision-language baselines (Fini et al., TMLR 2023, "Improved baselines for vision-language
pre-training"): CLIP plus self-supervised auxiliary terms, and the improved CLIP recipe (CLIP🚀).

The auxiliary terms are the reusable parts of :mod:`contrastkit.losses.ssl` (and
:class:`~contrastkit.losses.InfoNCE` for SLIP's in-modal SimCLR); this module only owns the extra heads
they act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.infonce import InfoNCE
from contrastkit.losses.ssl import BarlowTwins, NegativeCosine, SwAV, VICReg
from contrastkit.papers.clip.module import CLIP, LogitScale

AUX_TERMS = ("simclr", "siam", "barlow", "vicreg", "swav")


def _mlp(in_dim: int, hidden: int, out_dim: int, *, bn_last: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                               nn.Linear(hidden, out_dim)]
    if bn_last:
        layers.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers)


class ImprovedCLIP(CLIP):
    """CLIP with Fini et al.'s recipe knobs and SSL auxiliary terms.

    Recipe (CLIP🚀, the paper's CL2L loss): a global pair (``image_augment``: weak view, raw caption) and
    ``n_local_views = A`` local image views (``local_augment``: strong) and ``A`` augmented captions
    (``text_augment``, EDA), scored by *separate* local projectors with their own logit scale (init
    ``1 / local_init_temperature``) and label smoothing ``local_label_smoothing``::

        L_clip = ( L_global + A * mean_{a, b} L_ls(h_I^a, h_T^b) ) / (1 + A)

    Auxiliary terms (``aux = {name: weight}``) on extra heads of the global pair, added to ``L_clip``:

    - ``simclr`` (SLIP): InfoNCE (tau 0.1) between two ``local_augment`` image views;
    - ``siam`` (SiamLIP): ``NegativeCosine(p_I, sg(v_T)) + NegativeCosine(p_T, sg(v_I))`` with predictors;
    - ``barlow`` (BarLIP): Barlow Twins between BN-terminated image and text heads (paper weight 0.025);
    - ``vicreg``: VICReg between the image and text heads;
    - ``swav`` (SwALIP): swapped prediction against ``num_prototypes`` learned prototypes (weight 0.2).

    Simplification: the auxiliary terms use the global pair only (the paper adds every local pair).
    """

    def __init__(
        self,
        *args: Any,
        aux: dict[str, float] | None = None,
        aux_dim: int = 64,
        aux_hidden: int = 128,
        num_prototypes: int = 30,
        n_local_views: int = 0,
        local_augment: Callable[[Tensor], Tensor] | None = None,
        local_label_smoothing: float = 0.1,
        local_init_temperature: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        aux = dict(aux or {})
        for name, weight in aux.items():
            if name not in AUX_TERMS:
                raise ValueError(f"aux: unknown term {name!r}; expected names from {AUX_TERMS}")
            if not weight > 0:
                raise ValueError(f"aux: weight of {name!r} must be > 0, got {weight!r}")
        if n_local_views < 0:
            raise ValueError(f"n_local_views: expected an integer >= 0, got {n_local_views!r}")
        if (n_local_views > 0 or "simclr" in aux) and local_augment is None:
            raise ValueError("local_augment: local views and the simclr term need a (strong) image augmentation")
        self.aux = aux
        self.n_local_views = int(n_local_views)
        self.local_augment = local_augment
        self.local_label_smoothing = float(local_label_smoothing)
        feat = self.image_head.in_features
        embed = self.image_head.out_features
        if self.n_local_views:
            self.image_local_head = nn.Linear(feat, embed)
            self.text_local_head = nn.Linear(embed, embed)
            self.local_scale = LogitScale(local_init_temperature, self.logit_scale.max_scale)
        if aux:
            bn_last = "barlow" in aux
            self.image_aux = _mlp(feat, aux_hidden, aux_dim, bn_last=bn_last)
            self.text_aux = _mlp(embed, aux_hidden, aux_dim, bn_last=bn_last)
        if "siam" in aux:
            self.image_pred = _mlp(aux_dim, aux_hidden, aux_dim)
            self.text_pred = _mlp(aux_dim, aux_hidden, aux_dim)
        if "swav" in aux:
            self.prototypes = nn.Parameter(F.normalize(torch.randn(num_prototypes, aux_dim), dim=1))
        self.terms: dict[str, nn.Module] = {
            "simclr": InfoNCE(0.1), "siam": NegativeCosine(), "barlow": BarlowTwins(), "vicreg": VICReg(),
            "swav": SwAV(),
        }

    def training_loss(self, x: Tensor, ids: Tensor) -> dict[str, Tensor]:
        xg = self.image_augment(x) if self.image_augment is not None else x
        h = self.image_encoder(xg)
        img = self.image_head(h)
        txt_raw = self.encode_captions(ids)
        out: dict[str, Tensor] = {}
        clip = self.pair_loss(img, txt_raw, ids)
        if self.n_local_views:
            a = self.n_local_views
            locals_i = [self.image_local_head(self.image_encoder(self.local_augment(x))) for _ in range(a)]
            locals_t = [self.text_local_head(self.text_view(ids, augment=True)) for _ in range(a)]
            tau = self.local_scale.temperature()
            local = torch.stack([self.pair_loss(li, lt, ids, smoothing=self.local_label_smoothing, temperature=tau)
                                 for li in locals_i for lt in locals_t]).mean()
            out["clip_local"] = local
            clip = (clip + a * local) / (1 + a)
        out["clip"] = clip
        total = clip
        if self.aux:
            zi, zt = self.image_aux(h), self.text_aux(txt_raw)
            for name, weight in self.aux.items():
                term = self._aux_term(name, x, zi, zt)
                out[name] = term
                total = total + weight * term
        out["loss"] = total
        return out

    def _aux_term(self, name: str, x: Tensor, zi: Tensor, zt: Tensor) -> Tensor:
        if name == "simclr":
            v1 = self.image_aux(self.image_encoder(self.local_augment(x)))
            v2 = self.image_aux(self.image_encoder(self.local_augment(x)))
            return self.terms["simclr"](v1, v2)
        if name == "siam":
            cos = self.terms["siam"]
            return cos(self.image_pred(zi), zt) + cos(self.text_pred(zt), zi)
        if name == "swav":
            protos = F.normalize(self.prototypes, dim=1)
            return self.terms["swav"](F.normalize(zi, dim=1) @ protos.T, F.normalize(zt, dim=1) @ protos.T)
        return self.terms[name](zi, zt)


__all__ = ["AUX_TERMS", "ImprovedCLIP"]
