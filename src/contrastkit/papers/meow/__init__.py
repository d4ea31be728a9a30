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
    outcome=("**fail** (3 seeds, 100 epochs): AdaMEOW's learned weights do not separate same-class negatives "
             "(0.0387 vs 0.0388, p = 0.12; all weights collapse towards 0); MEOW's cluster weights do (1.904 vs "
             "1.952, p = 0.004); Macro-F1 not testable (MDE 6.2 / 4.7 pt): MEOW 29.4 ± 3.3, AdaMEOW 35.2 ± 0.9, "
             "InfoNCE 33.0 ± 1.1, all below raw bag-of-words features 43.6"),
    readme="meow/README.md",
)
