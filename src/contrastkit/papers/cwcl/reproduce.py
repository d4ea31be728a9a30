"""CWCL (Srinivasa et al., NeurIPS 2023, "Cross-Modal Transfer with Continuously Weighted Contrastive
Loss") in miniature: a CNN image tower trained against a frozen MiniLM text tower on Fashion-MNIST
captions, with one-hot InfoNCE (LiT), CWCL's soft targets, and an oracle arm whose targets are the
class identity.

Preconditions (``not testable`` when one fails): the frozen tower's caption similarities reflect the
class (AUC of same- vs different-class caption pairs); the oracle's perfect soft targets beat InfoNCE
(else no soft target can, at this scale); the design's MDE is at most the paper's effect.
Claim: CWCL zero-shot accuracy > InfoNCE's (paired one-sided t-test over seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contrastkit.papers._claims import gate, load_recipe, main, paired, power_precondition, run_seeds
from contrastkit.reproduce.result import Claim, ReproResult, fmt

RECIPE = Path(__file__).with_name("recipe.yaml")


def similarity_auc(frozen: Tensor, labels: Tensor) -> float:
    """P(cos of a random same-class pair > cos of a random different-class pair), ties counted 1/2.

    ``frozen`` ``(n, d)`` caption embeddings, ``labels`` ``(n,)`` their classes (Mann-Whitney AUC over
    the off-diagonal pairs).
    """
    from scipy.stats import mannwhitneyu

    z = torch.nn.functional.normalize(frozen.double(), dim=1)
    cos = z @ z.T
    i, j = torch.triu_indices(len(labels), len(labels), 1)
    same = labels[i] == labels[j]
    a, b = cos[i, j][same].numpy(), cos[i, j][~same].numpy()
    if len(a) == 0 or len(b) == 0:
        raise ValueError("labels: need captions of at least two classes, two of one class")
    return float(mannwhitneyu(a, b).statistic / (len(a) * len(b)))


def _model_class():
    from contrastkit.papers.clip.module import CLIP

    class TargetCLIP(CLIP):
        """LiT with CWCL's loss on explicit ``(N, N)`` targets: the oracle arm's class identity."""

        def __init__(self, *args: Any, caption_labels: Tensor, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.register_buffer("caption_labels", caption_labels.long(), persistent=False)

        def pair_loss(self, img: Tensor, txt: Tensor, ids: Tensor, **_: Any) -> Tensor:
            c = self.caption_labels[ids]
            weights = (c[:, None] == c[None, :]).to(img.dtype)
            return self.cwcl_loss(txt, img, weights=weights, temperature=self.logit_scale.temperature())

    return TargetCLIP


def _data(cfg: dict[str, Any], quick: bool) -> tuple[Any, Any]:
    from contrastkit.multimodal.data import fashion_image_text
    from contrastkit.papers._multimodal import _subset
    from contrastkit.papers.clip.reproduce import _fashion, _to_float

    q = cfg["quick"] if quick else {}
    d = cfg["data"]
    (xtr, ytr), (xte, yte) = _fashion("train"), _fashion("test")
    itr = _subset(len(ytr), q.get("n_train", d["n_train"]), seed=d["subset_seed"])
    ite = _subset(len(yte), q.get("n_test", d["n_test"]), seed=d["subset_seed"])
    train = fashion_image_text(_to_float(xtr[itr]), ytr[itr], seed=d["caption_seed"])
    test = fashion_image_text(_to_float(xte[ite]), yte[ite], seed=d["caption_seed"])
    return train, test


def _train_arm(cfg: dict[str, Any], arm: str, seed: int, quick: bool, train: Any, test: Any,
               bank: dict[str, Tensor]) -> float:
    from contrastkit import evaluate as ev
    from contrastkit.papers._multimodal import _cnn, _embed, _fit
    from contrastkit.papers.clip.module import CLIP

    q = cfg["quick"] if quick else {}
    tr, m, mc = cfg["trainer"], cfg["method"], cfg["model"]
    weights = cfg["arms"][arm]["weights"]
    torch.manual_seed(seed)
    enc = _cnn(mc["image_encoder"]["widths"], pool_between=mc["image_encoder"]["pool_between"])
    frozen = torch.stack([bank[c] for c in train.captions])
    common = dict(frozen_text=frozen, image_feature_dim=enc.feature_dim, embed_dim=mc["embed_dim"],
                  init_temperature=m["init_temperature"], max_logit_scale=m["max_logit_scale"],
                  batch_size=min(tr["batch_size"], len(train)), lr=tr["lr"], seed=seed)
    if weights == "none":
        model = CLIP(enc, train.images, train.caption_ids, loss="clip", **common)
    elif weights == "frozen":
        model = CLIP(enc, train.images, train.caption_ids, loss="cwcl", cwcl_kwargs={"reverse": m["reverse"]},
                     **common)
    elif weights == "class":
        model = _model_class()(enc, train.images, train.caption_ids, loss="cwcl",
                               cwcl_kwargs={"reverse": m["reverse"]}, caption_labels=train.caption_labels,
                               **common)
    else:
        raise ValueError(f"arms.{arm}.weights: expected none, frozen or class, got {weights!r}")
    _fit(model, q.get("max_steps", tr["max_steps"]))
    img = _embed(model.encode_image, test.images)
    prompts = torch.stack([bank[p] for p in test.class_prompts])
    return ev.zero_shot_accuracy(img, prompts, test.labels)


def reproduce(quick: bool = False, seeds: Sequence[int] | None = None, recipe: str | Path = RECIPE) -> ReproResult:
    """Train every arm on every seed and decide the preconditions and the claim (module doc)."""
    from contrastkit.multimodal.text import frozen_text_embeddings

    torch.set_num_threads(1)
    cfg = load_recipe(recipe)
    seeds = run_seeds(cfg, quick, seeds)
    train, test = _data(cfg, quick)
    texts = list(dict.fromkeys(train.captions + test.captions + test.class_prompts))
    emb = frozen_text_embeddings(texts)
    bank = {t: emb[i] for i, t in enumerate(texts)}
    acc: dict[str, list[float]] = {arm: [] for arm in cfg["arms"]}
    for seed in seeds:
        for arm in cfg["arms"]:
            acc[arm].append(_train_arm(cfg, arm, seed, quick, train, test, bank))
    return decide(cfg, acc, _caption_auc(train, bank), quick)


def _caption_auc(train: Any, bank: dict[str, Tensor]) -> float:
    caps = list(dict.fromkeys(train.captions))
    lab = {c: int(y) for c, y in zip(train.captions, train.caption_labels.tolist(), strict=True)}
    return similarity_auc(torch.stack([bank[c] for c in caps]), torch.tensor([lab[c] for c in caps]))


def decide(cfg: dict[str, Any], acc: dict[str, list[float]], auc: float, quick: bool) -> ReproResult:
    """Preconditions and claim from the per-seed zero-shot accuracies ``acc[arm]`` and the caption AUC."""
    c = cfg["claims"]
    oracle = paired(acc["oracle"], acc["infonce"], c["oracle"])
    test = paired(acc["cwcl"], acc["infonce"], c["cwcl"])
    claims = [
        Claim("frozen-tower caption similarity reflects the class (same- vs other-class AUC)",
              auc >= c["frozen_similarity_auc_min"], f"AUC {auc:.3f} (threshold {c['frozen_similarity_auc_min']})",
              precondition=True),
        Claim.from_test("oracle class targets beat InfoNCE (soft targets can help at this scale)", oracle,
                        scale=100, unit=" points", precondition=True,
                        note=f"oracle {fmt(acc['oracle'], 100)}% vs InfoNCE {fmt(acc['infonce'], 100)}%"),
        power_precondition("CWCL - InfoNCE zero-shot accuracy", test, c["cwcl"]["paper_effect"], scale=100,
                           unit=" points"),
        Claim.from_test("CWCL zero-shot accuracy > InfoNCE (LiT)", test, scale=100, unit=" points",
                        note=f"CWCL {fmt(acc['cwcl'], 100)}% vs InfoNCE {fmt(acc['infonce'], 100)}%"),
    ]
    return ReproResult("cwcl", gate(claims, quick), {"zero_shot": acc, "caption_auc": auc}, quick)


if __name__ == "__main__":
    raise SystemExit(main(reproduce))
