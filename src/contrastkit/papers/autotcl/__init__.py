"""Parametric Augmentation for Time Series Contrastive Learning (Zheng et al., ICLR 2024): the paper's spec (claim,
files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='autotcl',
    title='Parametric Augmentation for Time Series Contrastive Learning',
    citation='Zheng et al., ICLR 2024',
    modality='timeseries',
    loss='contrastkit.timeseries.autotcl:encoder_objective',
    module='contrastkit.papers.autotcl.module:AutoTCL',
    reproduction="contrastkit.papers.autotcl.reproduce:reproduce",
    recipe='autotcl/recipe.yaml',
    claim='learned augmentation ≥ best fixed on 3 of 4 UCR sets',
    outcome='2 of 4 (**not reproduced**; all within one std)',
    readme="autotcl/README.md",
)
