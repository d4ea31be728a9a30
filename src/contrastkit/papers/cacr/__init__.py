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
    claim=('CACR ≥ NT-Xent − 1 point (balanced); CACR > NT-Xent after long-tailed pre-training (balanced '
           'probe, as the official linear_eval.py)'),
    outcome=('**pass**: balanced +0.37 points (p = 0.015 vs −1); long-tailed +0.78 points, p = 0.032 (5 seeds,'
             ' MDE 0.93)'),
    readme="cacr/README.md",
)
