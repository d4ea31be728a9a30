"""SPACE-2: Tree-Structured Semi-Supervised Contrastive Pre-training for Task-Oriented Dialog Understanding
(He et al., COLING 2022): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="space2",
    title="SPACE-2: Tree-Structured Semi-Supervised Contrastive Pre-training for Task-Oriented Dialog Understanding",
    citation="He et al., COLING 2022",
    modality="text",
    loss="contrastkit.losses:InfoNCE",
    module="contrastkit.papers.space2.module:TreeSemiSupervised",
    reproduction="contrastkit.papers.space2.reproduce:reproduce",
    recipe="space2/recipe.yaml",
    claim="tree-soft SupCon + SimCLR (SPACE-2) > hard exact-tree SupCon + SimCLR > SimCLR only, on 10-shot act "
          "F1 and on the Spearman between feature cosine and tree score",
    outcome=("**fail** (3 seeds): SPACE-2 not above hard SupCon (F1 +0.001, MDE 0.002; Spearman +0.001, MDE 0.015)"
             "; hard SupCon > SimCLR holds on both; preconditions hold"),
    readme="space2/README.md",
)
