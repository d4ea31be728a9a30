"""Meta-optimized Contrastive Learning for Sequential Recommendation (Qin et al., SIGIR 2023): the paper's spec
(claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="mclrec",
    title="Meta-optimized Contrastive Learning for Sequential Recommendation",
    citation="Qin et al., SIGIR 2023",
    modality="sequential-recommendation",
    loss="contrastkit.losses:InfoNCE",
    module="contrastkit.papers.mclrec.module:MCLRec",
    reproduction="contrastkit.papers.mclrec.reproduce:reproduce",
    recipe="mclrec/recipe.yaml",
    claim="MCLRec > CL4SRec > SASRec on ml-100k test NDCG@10, MCLRec's gain larger at batch 64 than at 256",
    outcome=('**not reproduced**, and suspect: at a 6-epoch CPU budget MCLRec 0.0110 ± 0.0018 test NDCG@10 is '
             'below popularity (0.0220), CL4SRec 0.0335, SASRec 0.0392; the batch-64 runs were not run'),
    readme="mclrec/README.md",
)
