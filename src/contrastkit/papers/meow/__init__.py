"""MEOW / AdaMEOW (Yu et al., SDM 2023 / TKDE 2024): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="meow",
    title="Heterogeneous Graph Contrastive Learning with Meta-path Contexts and Weighted Negative Samples "
          "(MEOW; AdaMEOW)",
    citation="Yu, Ge, Li, Zhou; SDM 2023 (MEOW), TKDE 2024 (AdaMEOW)",
    modality="graph",
    loss="contrastkit.losses:InfoNCE",
    module="contrastkit.papers.meow.module:MEOW",
    reproduction="contrastkit.papers.meow.reproduce:reproduce",
    recipe="meow/recipe.yaml",
    claim=("MEOW and AdaMEOW Macro-F1 > unweighted InfoNCE on WordNet noun supersenses (3 seeds); "
           "same-class negatives get lower weight"),
    outcome="PENDING",
    readme="meow/README.md",
)
