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
    outcome=('**fail**: SRA-CL 0.0054 ± 0.0017 test NDCG@10 vs CL4SRec 0.0323 (p = 0.996, MDE 0.0095) and SASRec '
             '0.0410 (p = 1.0), below popularity 0.0220; 6-epoch CPU budget; one-seed ablations trace it to the user '
             'term (no code defect found, README)'),
    readme="sra_cl/README.md",
)
