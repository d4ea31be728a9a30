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
    claim=("NT-Xent's positive gradient is coupled (q = 1 - p_pos, larger at batch 256), DCL's is exactly 1;"
           ' gain larger at small batch (reported)'),
    outcome=('**pass** (3 seeds, paired): q 0.13 (batch 16) vs 0.56 (256), p = 8e-5; DCL exactly 1; gain@32 − '
             'gain@256 +0.46 points, p = 0.37 (MDE 5.0, not gated)'),
    readme="dcl/README.md",
)
