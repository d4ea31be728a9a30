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
    outcome=('**pass** (5 seeds): CLIP-rocket 92.8 % vs the best basic aux arm (VICReg) 89.6 %, '
             '+3.2 points, CI95 [+0.5, +5.9], p = 0.016'),
    readme="fini/README.md",
)
