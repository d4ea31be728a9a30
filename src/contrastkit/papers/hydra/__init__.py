"""Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate (arXiv 2410.18200): the paper's spec
(claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='hydra',
    title='Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate',
    citation='arXiv 2410.18200',
    modality='vision',
    loss='contrastkit.losses:Hydra',
    module='contrastkit.papers.hydra.module:HydraContrastive',
    reproduction="contrastkit.papers.hydra.reproduce:reproduce",
    recipe='hydra/recipe.yaml',
    claim='SupCon on arbitrary pairs collapses, gated version keeps accuracy',
    outcome=('**not testable** (5 seeds): gated arbitrary pairs beat ungated by +9.7 points (p = 0.006); '
             'vs SupCon -1.8 points, CI95 [-3.8, +0.3], underpowered (MDE 2.24 > 2)'),
    readme="hydra/README.md",
)
