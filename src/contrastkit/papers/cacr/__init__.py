"""Contrastive Attraction and Contrastive Repulsion for Representation Learning (Zheng et al., TMLR 2023): the paper's
spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='cacr',
    title='Contrastive Attraction and Contrastive Repulsion for Representation Learning',
    citation='Zheng et al., TMLR 2023',
    modality='vision',
    loss='contrastkit.losses:CACR',
    module='contrastkit.methods.view_contrastive:SimCLR',
    reproduction="contrastkit.papers.cacr.reproduce:reproduce",
    recipe='cacr/recipe.yaml',
    claim='CACR ≥ NT-Xent, also on long-tailed data',
    outcome='balanced +0.37 points (holds); long-tailed −0.28 (**not reproduced**)',
    readme="cacr/README.md",
)
