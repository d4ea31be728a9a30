"""DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the Debiasing Perspective (Miao, Du &
Zhang, CIKM 2023): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="debcse",
    title="DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the Debiasing Perspective",
    citation="Miao, Du & Zhang, CIKM 2023",
    modality="text",
    loss="contrastkit.losses:SimCSE",
    module="",
    reproduction="contrastkit.papers.debcse.reproduce:reproduce",
    recipe="debcse/recipe.yaml",
    claim="DebCSE >= SimCSE on Lee STS Spearman, with a lower length bias",
    outcome=("**fail** on 3 seeds:"
             " Spearman 0.503 vs SimCSE 0.411 (holds, p = 0.015) but length bias 0.132 vs 0.059 (higher, p = 0.99)"),
    readme="debcse/README.md",
)
