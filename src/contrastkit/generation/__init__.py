"""Contrastive text generation: contrastive search, SimCTG, RankGen, CLAPS and generation metrics.

transformers is imported lazily (only the functions that take a model need it).
"""

from contrastkit.generation.contrastive_search import contrastive_search, hf_custom_generate

__all__ = ["contrastive_search", "hf_custom_generate"]
