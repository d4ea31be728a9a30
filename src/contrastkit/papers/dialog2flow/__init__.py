"""Dialog2Flow: Pre-training Soft-Contrastive Action-Driven Sentence Embeddings for Automatic Dialog Flow
Extraction (Burdisso et al., EMNLP 2024): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="dialog2flow",
    title="Dialog2Flow: Pre-training Soft-Contrastive Action-Driven Sentence Embeddings for Automatic Dialog Flow "
          "Extraction",
    citation="Burdisso et al., EMNLP 2024",
    modality="text",
    loss="contrastkit.losses:SoftLabelInfoNCE",
    module="contrastkit.papers.dialog2flow.module:ActPairs",
    reproduction="contrastkit.papers.dialog2flow.reproduce:reproduce",
    recipe="dialog2flow/recipe.yaml",
    claim="soft label-similarity targets >= hard same-label targets on few-shot prototype F1 (1/5-shot) and on "
          "the Spearman between act-centroid and label-text similarities",
    outcome=("**fail** (3 seeds): soft below hard on 1-shot F1 (-9.6 points, MDE 1.7) and 5-shot F1 (-5.6, MDE 2.1); "
             "Spearman -0.006, not shown non-inferior; preconditions hold"),
    readme="dialog2flow/README.md",
)
