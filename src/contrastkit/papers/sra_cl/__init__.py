"""Semantic Retrieval Augmented Contrastive Learning for Sequential Recommendation (Cui et al., NeurIPS 2025): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="sra-cl",
    title="Semantic Retrieval Augmented Contrastive Learning for Sequential Recommendation",
    citation="Cui et al., NeurIPS 2025",
    modality="sequential-recommendation",
    loss="contrastkit.losses:InfoNCE",
    module="contrastkit.papers.sra_cl.module:SRACL",
    reproduction="contrastkit.papers.sra_cl.reproduce:reproduce",
    recipe="sra_cl/recipe.yaml",
    claim="SRA-CL > CL4SRec > SASRec on ml-100k test NDCG@10 (MiniLM stands in for the LLM stage)",
    outcome=('**not run**: the full ml-100k runs (about 25 CPU-minutes per seed) did not fit this session; method '
             'tests and the quick smoke run pass'),
    readme="sra_cl/README.md",
)
