"""Decoupled Contrastive Learning (Yeh et al., ECCV 2022): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='dcl',
    title='Decoupled Contrastive Learning',
    citation='Yeh et al., ECCV 2022',
    modality='vision',
    loss='contrastkit.losses:DCL',
    module='contrastkit.methods.view_contrastive:SimCLR',
    reproduction="contrastkit.papers.dcl.reproduce:reproduce",
    recipe='dcl/recipe.yaml',
    claim="DCL's gain over NT-Xent grows as the batch shrinks; NT-Xent's positive gradient is coupled",
    outcome=('gain +1.39 (batch 32) vs +0.93 (256) points, inside seed noise; coupling q = 0.13 (batch '
        '16) vs 0.56 (256), DCL exactly uncoupled'),
    readme="dcl/README.md",
)
