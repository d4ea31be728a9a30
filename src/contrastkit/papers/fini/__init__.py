"""Improved baselines for vision-language pre-training (Fini et al., TMLR 2023): the paper's spec (claim, files,
outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='fini',
    title='Improved baselines for vision-language pre-training',
    citation='Fini et al., TMLR 2023',
    modality='image-text',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.fini.module:ImprovedCLIP',
    reproduction="contrastkit.papers.fini.reproduce:reproduce",
    recipe='fini/recipe.yaml',
    claim='improved recipe gain ≥ aux-loss gain',
    outcome='+5.2 vs +2.6 points (holds under the old rules); paired rules not yet run',
    readme="fini/README.md",
)
