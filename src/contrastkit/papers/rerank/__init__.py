"""Supervised Fine-Tuning or Contrastive Learning? Towards Better Multimodal LLM Reranking (Dai, Zhang et al.,
2025): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="rerank",
    title="Supervised Fine-Tuning or Contrastive Learning? Towards Better Multimodal LLM Reranking",
    citation="Dai, Zhang et al., 2025 (arXiv:2510.14824)",
    modality="text-generation",
    loss="contrastkit.generation.rerank:RerankLoss",
    module="contrastkit.generation.rerank:YesNoReranker",
    reproduction="contrastkit.papers.rerank.reproduce:reproduce",
    recipe="rerank/recipe.yaml",
    claim="SFT-weight rerankers beat CL-weight ones on MRR and NDCG@5; the direction choice matters little",
    outcome="**not run** (placeholder)",
    readme="rerank/README.md",
)
