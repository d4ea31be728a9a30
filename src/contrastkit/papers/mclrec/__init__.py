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
    outcome=('**fail**: MCLRec 0.0117 ± 0.0014 vs CL4SRec 0.0323 test NDCG@10 at batch 256 (p = 0.998, MDE '
             '0.0056) and 0.0233 vs 0.0432 at batch 64 (p = 0.997); gain not larger at 64 (+0.0007, p = 0.41); '
             'below popularity 0.0220 — a one-seed ablation points at the `L_cl2` term (without it 0.0347; '
             'without `R` 0.0112)'),
    readme="mclrec/README.md",
)
