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
    outcome=('**fail**: at a 6-epoch CPU budget CL4SRec 0.0323 ± 0.0034 vs SASRec 0.0410 ± 0.0027 test NDCG@10 (3 '
             'seeds, effect −0.0087, p = 0.94, MDE 0.0132; all models still improving)'),
    readme="cl4srec/README.md",
)
