"""Contrastive Learning for Sequential Recommendation (Xie et al., ICDE 2022): the paper's spec (claim, files,
outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="cl4srec",
    title="Contrastive Learning for Sequential Recommendation",
    citation="Xie et al., ICDE 2022",
    modality="sequential-recommendation",
    loss="contrastkit.losses:InfoNCE",
    module="contrastkit.papers.cl4srec.module:CL4SRec",
    reproduction="contrastkit.papers.cl4srec.reproduce:reproduce",
    recipe="cl4srec/recipe.yaml",
    claim="CL4SRec > SASRec on ml-100k test NDCG@10 (leave-one-out, full ranking, 3 seeds)",
    outcome=('**not reproduced** at a 6-epoch CPU budget: CL4SRec 0.0335 ± 0.0009 vs SASRec 0.0392 ± 0.0010 test '
             'NDCG@10 (3 seeds, p = 0.999; both still improving at the last epoch)'),
    readme="cl4srec/README.md",
)
