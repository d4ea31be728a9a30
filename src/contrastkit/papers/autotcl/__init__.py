"""Parametric Augmentation for Time Series Contrastive Learning (Zheng et al., ICLR 2024): the paper's spec (claim,
files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='autotcl',
    title='Parametric Augmentation for Time Series Contrastive Learning',
    citation='Zheng et al., ICLR 2024',
    modality='timeseries',
    loss='contrastkit.timeseries.autotcl:AutoTCLLoss',
    module='contrastkit.papers.autotcl.module:AutoTCL',
    reproduction="contrastkit.papers.autotcl.reproduce:reproduce",
    recipe='autotcl/recipe.yaml',
    claim=('learned augmentation > pre-specified fixed baseline (jitter + scaling), paired over 4 sets × '
           'seeds'),
    outcome=("**not testable**: 4 sets × 3 seeds detect 3.8 points at the planning sd, paper's effect is 1.2 "
             '(28 seeds needed)'),
    readme="autotcl/README.md",
)
