"""SimCSE: Simple Contrastive Learning of Sentence Embeddings (Gao, Yao & Chen, EMNLP 2021): the paper's spec
(claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="simcse",
    title="SimCSE: Simple Contrastive Learning of Sentence Embeddings",
    citation="Gao, Yao & Chen, EMNLP 2021",
    modality="text",
    loss="contrastkit.losses:SimCSE",
    module="",
    reproduction="contrastkit.papers.simcse.reproduce:reproduce",
    recipe="simcse/recipe.yaml",
    claim="unsupervised SimCSE (dropout positives) improves Lee STS Spearman over the untrained start",
    outcome=("**fail** on 3 seeds:"
             " Lee Spearman 0.411 ± 0.036 after SimCSE vs 0.505 at the start (effect -0.094, p = 0.98)"),
    readme="simcse/README.md",
)
