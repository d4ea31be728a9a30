"""Training recipes beyond the image view methods: CLIP / LiT (image-text) and TS2Vec (time series).

``contrastkit train`` reads ``method.name``: ``simclr`` / ``supcon`` / ``moco`` go to
:mod:`contrastkit.pipeline.train`; ``clip`` / ``lit`` and ``ts2vec`` are validated here (strictly: an
unknown key or a wrong type names the key) and trained with :func:`contrastkit.fit` into a run folder
(``model.safetensors`` + ``config.json`` loadable with :func:`contrastkit.from_pretrained`,
``checkpoints/``, ``logs/``, ``metrics.json``).

- ``clip``: CLIP from scratch (Radford et al., ICML 2021), a small CNN image tower and a bag-of-words
  text tower, on digits-on-canvas images with template captions; metrics: zero-shot accuracy and
  class-level retrieval recall on the test split.
- ``lit``: the same with the text tower locked to the packaged all-MiniLM-L6-v2 (Zhai et al., CVPR 2022).
- ``ts2vec``: TS2Vec (Yue et al., AAAI 2022) on a UCR/UEA set bundled with aeon; metric: the RBF-SVM
  probe accuracy on the test split (TS2Vec's protocol).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, ValidationError

from contrastkit.pipeline.recipe import RecipeError, Seed, _bounded_repr, _numeric_string_hint, _Strict, apply_override

FIT_METHODS = ("clip", "lit", "ts2vec")


class OptimSection(_Strict):
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class TrainerSection(_Strict):
    max_steps: int = Field(100, gt=0, le=10**9)
    batch_size: int = Field(128, gt=1)
    checkpoint_every_n_steps: int | None = Field(None, gt=0)
    accelerator: str = "auto"
    devices: int = Field(1, gt=0)
    strategy: str = "auto"
    precision: Literal["32", "64", "bf16-mixed", "16-mixed", "32-true", "64-true"] = "32"
    num_threads: int | None = Field(None, gt=0)


class ImageTextData(_Strict):
    dataset: Literal["digits_canvas"] = "digits_canvas"
    templates: Literal[4, 8] = 4
    caption_seed: int = 0
    n_train: int | None = Field(None, gt=1)
    n_test: int | None = Field(None, gt=0)


class ImageTextModelSection(_Strict):
    image_widths: list[int] = Field(default_factory=lambda: [16, 32], min_length=1)
    embed_dim: int = Field(64, gt=0)
    text_embed_dim: int = Field(64, gt=0)  # clip: the bag-of-words embedding size
    text_head: bool = False  # lit: a trainable linear head after the locked tower


class ImageTextMethod(_Strict):
    name: Literal["clip", "lit"] = "clip"
    init_temperature: float = Field(0.07, gt=0)
    max_logit_scale: float = Field(100.0, gt=0)
    learn_temperature: bool = True
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class ImageTextRecipe(_Strict):
    name: str = "clip"
    seed: Seed = 0
    method: ImageTextMethod = Field(default_factory=ImageTextMethod)
    data: ImageTextData = Field(default_factory=ImageTextData)
    model: ImageTextModelSection = Field(default_factory=ImageTextModelSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    trainer: TrainerSection = Field(default_factory=TrainerSection)


class SeriesData(_Strict):
    dataset: str = "GunPoint"
    normalize: bool = False
    unequal: Literal["pad", "resample"] = "pad"


class SeriesModel(_Strict):
    output_dims: int = Field(64, gt=0)
    hidden_dims: int = Field(32, gt=0)
    depth: int = Field(4, ge=0)


class SeriesMethod(_Strict):
    name: Literal["ts2vec"] = "ts2vec"
    alpha: float = Field(0.5, ge=0, le=1)
    temporal_unit: int = Field(0, ge=0)


class SeriesRecipe(_Strict):
    name: str = "ts2vec"
    seed: Seed = 0
    method: SeriesMethod = Field(default_factory=SeriesMethod)
    data: SeriesData = Field(default_factory=SeriesData)
    model: SeriesModel = Field(default_factory=SeriesModel)
    optim: OptimSection = Field(default_factory=lambda: OptimSection(lr=1e-3))
    trainer: TrainerSection = Field(default_factory=lambda: TrainerSection(batch_size=8, max_steps=200))


def method_name(data: Any) -> Any:
    """``method.name`` of a recipe mapping (``None`` when absent)."""
    method = data.get("method") if isinstance(data, dict) else None
    return method.get("name") if isinstance(method, dict) else None


def parse_fit_recipe(data: dict[str, Any], source: str, overrides: list[str] | None = None
                     ) -> ImageTextRecipe | SeriesRecipe:
    """Validate an image-text or time-series recipe (after ``--set`` overrides); errors name each bad key."""
    for item in overrides or []:
        apply_override(data, item)
    cls = SeriesRecipe if method_name(data) == "ts2vec" else ImageTextRecipe
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            got = e.get("input")
            problems.append(f"{key}: unknown key" if e["type"] == "extra_forbidden" else
                            f"{key}: {e['msg']} (got {_bounded_repr(got)}){_numeric_string_hint(e['type'], got)}")
        raise RecipeError(f"{source}: invalid recipe; " + "; ".join(problems)) from None


def _trainer_args(t: TrainerSection) -> dict[str, Any]:
    return {"accelerator": t.accelerator, "devices": t.devices, "strategy": t.strategy, "precision": t.precision}


def _train_image_text(recipe: ImageTextRecipe, run_dir: Path, *, resume: bool, progress: bool) -> dict[str, float]:
    import contrastkit as ck
    from contrastkit.multimodal.data import DIGIT_TEMPLATES, DIGIT_TEMPLATES_8, digits_image_text
    from contrastkit.multimodal.evaluate import image_text_metrics
    from contrastkit.multimodal.text import BagOfWordsEncoder, SimpleTokenizer, frozen_text_embeddings
    from contrastkit.papers.clip.module import CLIP
    from contrastkit.vision.data import load_digits_canvas
    from contrastkit.vision.encoders import SmallCNN

    d, m, t = recipe.data, recipe.method, recipe.trainer
    templates = DIGIT_TEMPLATES_8 if d.templates == 8 else DIGIT_TEMPLATES

    def split(name: str, n: int | None) -> Any:
        s = load_digits_canvas(name)
        pairs = digits_image_text(s.images, s.labels, templates=templates, seed=d.caption_seed)
        if n is not None and n < len(pairs):
            pairs = pairs.subset(torch.randperm(len(pairs), generator=torch.Generator().manual_seed(0))[:n].sort()[0])
        return pairs

    train, test = split("train", d.n_train), split("test", d.n_test)
    if t.batch_size > len(train):
        raise ValueError(f"trainer.batch_size: {t.batch_size} exceeds the {len(train)} training pairs")
    torch.manual_seed(recipe.seed)
    encoder = SmallCNN(int(train.images.shape[1]), tuple(recipe.model.image_widths))
    common: dict[str, Any] = dict(image_feature_dim=encoder.feature_dim, embed_dim=recipe.model.embed_dim,
                                  init_temperature=m.init_temperature, max_logit_scale=m.max_logit_scale,
                                  learn_temperature=m.learn_temperature, label_smoothing=m.label_smoothing,
                                  batch_size=t.batch_size, lr=recipe.optim.lr, weight_decay=recipe.optim.weight_decay,
                                  seed=recipe.seed)
    if m.name == "lit":
        texts = list(dict.fromkeys(train.captions + test.captions + test.class_prompts))
        bank = dict(zip(texts, frozen_text_embeddings(texts), strict=True))
        frozen = torch.stack([bank[c] for c in train.captions])
        if not recipe.model.text_head and recipe.model.embed_dim != frozen.shape[1]:
            raise ValueError(f"model.embed_dim: LiT without model.text_head needs {frozen.shape[1]} "
                             "(the frozen tower's size)")
        model = CLIP(encoder, train.images, train.caption_ids, frozen_text=frozen, text_head=recipe.model.text_head,
                     **common)
        tokenizer = None
    else:
        tokenizer = SimpleTokenizer(train.captions + test.class_prompts)
        model = CLIP(encoder, train.images, train.caption_ids, caption_tokens=tokenizer.encode(train.captions),
                     text_encoder=BagOfWordsEncoder(len(tokenizer), recipe.model.text_embed_dim,
                                                    recipe.model.embed_dim), **common)
    ck.fit(model, max_steps=t.max_steps, output=run_dir, resume=resume, checkpoint_every=t.checkpoint_every_n_steps,
           trainer=_trainer_args(t), progress=progress)
    with torch.no_grad():
        if tokenizer is None:
            prompts = torch.stack([bank[p] for p in test.class_prompts])
            captions = torch.stack([bank[c] for c in test.captions])
            if model.text_head is not None:
                prompts, captions = model.text_head(prompts), model.text_head(captions)
        else:
            prompts = model.encode_tokens(tokenizer.encode(test.class_prompts))
            captions = model.encode_tokens(tokenizer.encode(test.captions))
            # the vocabulary a user needs to encode text with the saved text tower
            (run_dir / "tokenizer.json").write_text(json.dumps(tokenizer.vocab, indent=0) + "\n")
        images = torch.cat([model.encode_image(test.images[i:i + 512]) for i in range(0, len(test), 512)])
    # retrieval gallery: the captions of the classes the (possibly subsampled) test split holds
    keep = torch.isin(test.caption_labels, test.labels)
    return image_text_metrics(images, test.labels, captions[keep], test.caption_labels[keep], prompts)


def _train_series(recipe: SeriesRecipe, run_dir: Path, *, resume: bool, progress: bool) -> dict[str, float]:
    import contrastkit as ck
    from contrastkit.evaluate.svm import svm_probe
    from contrastkit.methods.ts_contrastive import TS2Vec
    from contrastkit.timeseries.data import load_ucr
    from contrastkit.timeseries.encoder import TSEncoder

    data = load_ucr(recipe.data.dataset, unequal=recipe.data.unequal, normalize=recipe.data.normalize)
    t = recipe.trainer
    if t.batch_size > len(data.y_train):
        raise ValueError(f"trainer.batch_size: {t.batch_size} exceeds the {len(data.y_train)} training series of "
                         f"{recipe.data.dataset}")
    torch.manual_seed(recipe.seed)
    encoder = TSEncoder(int(data.x_train.shape[1]), recipe.model.output_dims, recipe.model.hidden_dims,
                        recipe.model.depth)
    method = TS2Vec(encoder, lr=recipe.optim.lr, alpha=recipe.method.alpha, temporal_unit=recipe.method.temporal_unit,
                    batch_size=t.batch_size, seed=recipe.seed)
    ck.fit(method, data=data.x_train, max_steps=t.max_steps, output=run_dir, resume=resume,
           checkpoint_every=t.checkpoint_every_n_steps, trainer=_trainer_args(t), progress=progress)
    train_emb, test_emb = method.encode(data.x_train), method.encode(data.x_test)
    return {"svm_probe_accuracy": svm_probe(train_emb, data.y_train, test_emb, data.y_test, seed=recipe.seed)}


def train_fit_recipe(recipe: ImageTextRecipe | SeriesRecipe, run_dir: str | Path, *, resume: bool = False,
                     progress: bool = True) -> dict[str, float]:
    """Train ``recipe`` into ``run_dir`` with :func:`contrastkit.fit`; writes and returns ``metrics.json``."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"output: {run_dir} exists and is not a folder; choose another --output")
    if recipe.trainer.num_threads:
        torch.set_num_threads(recipe.trainer.num_threads)
    train = _train_series if isinstance(recipe, SeriesRecipe) else _train_image_text
    metrics = train(recipe, run_dir, resume=resume, progress=progress)  # type: ignore[arg-type]
    from contrastkit.pipeline.runfolder import write_json

    write_json(run_dir / "recipe.json", recipe.model_dump(mode="json"))
    write_json(run_dir / "metrics.json", metrics)
    return metrics


__all__ = ["FIT_METHODS", "ImageTextRecipe", "SeriesRecipe", "method_name", "parse_fit_recipe", "train_fit_recipe"]
