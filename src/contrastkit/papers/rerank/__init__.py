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
    outcome=("**not testable** on 3 seeds (every arm learns, but SFT- vs CL-weight MRR effect -0.031, "
             "CI95 [-0.117, +0.054], p = 0.87, MDE 0.079 > 0.02; the CL-weight arms scored higher in 2 of 3 seeds)"),
    readme="rerank/README.md",
)
