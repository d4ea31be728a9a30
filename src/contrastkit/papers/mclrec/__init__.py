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
    outcome=('**fail**: official MovieLens weights (lambda 0, beta 0.01): MCLRec 0.0402 ± 0.0029 vs CL4SRec '
             '0.0323 test NDCG@10 at batch 256 (+0.0079, p = 0.080, MDE 0.0143) and 0.0469 ± 0.0006 vs 0.0432 '
             'at batch 64 (+0.0037, p = 0.136, MDE 0.0098); gain not larger at 64 (−0.0042, p = 0.81); '
             'CL4SRec > SASRec fails (p = 0.94)'),
    readme="mclrec/README.md",
)
