"""The strict schema of ``papers/rerank/recipe.yaml`` (checked whenever the recipe is loaded; an unknown
key or a wrong type is an error naming the dotted key)."""

from __future__ import annotations

from pydantic import Field

from contrastkit.papers._schema import FiniteFloat, PaperRecipe, PositiveFloat, PositiveInt, Section


class Data(Section):
    corpus: str
    fallback_corpus: str | None = None
    n_docs: PositiveInt
    max_doc_words: PositiveInt
    query_words: PositiveInt
    k: PositiveInt
    hard_shared: list[PositiveInt]
    test_fraction: PositiveFloat = Field(lt=1.0)
    seed: int = Field(strict=True, ge=0)
    max_length: PositiveInt


class Model(Section):
    n_embd: PositiveInt
    n_layer: PositiveInt
    n_head: PositiveInt
    n_positions: PositiveInt
    embedding_std: PositiveFloat | None = None


class Trainer(Section):
    steps: PositiveInt
    batch_groups: PositiveInt
    lr: PositiveFloat


class Arm(Section):
    weight: str
    direction: str


class Evaluation(Section):
    ndcg_k: PositiveInt


class Learns(Section):
    min_gain: FiniteFloat


class WeightClaim(Section):
    margin: FiniteFloat
    alpha: PositiveFloat = Field(lt=1.0)
    power: PositiveFloat = Field(lt=1.0)
    effect_of_interest: PositiveFloat


class DirectionClaim(Section):
    equivalence: PositiveFloat
    alpha: PositiveFloat = Field(lt=1.0)
    power: PositiveFloat = Field(lt=1.0)


class Claims(Section):
    learns: Learns
    weight: WeightClaim
    direction: DirectionClaim


class RerankRecipe(PaperRecipe):
    """``papers/rerank/recipe.yaml``."""

    data: Data
    model: Model
    trainer: Trainer
    arms: dict[str, Arm] = Field(min_length=1)
    evaluation: Evaluation
    claims: Claims


RECIPE = RerankRecipe
SCHEMAS = {"recipe.yaml": RerankRecipe}
