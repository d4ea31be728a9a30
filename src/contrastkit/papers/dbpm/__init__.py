"""Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach (Lan et al., ICLR 2024): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='dbpm',
    title='Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach',
    citation='Lan et al., ICLR 2024',
    modality='timeseries',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.dbpm.module:DBPMSimCLR',
    reproduction="contrastkit.papers.dbpm.reproduce:reproduce",
    recipe='dbpm/recipe.yaml',
    claim=('flags planted bad pairs (4 % per type, a rate the 3-sigma rule can detect): precision >= 3 x '
           'planted rate and > it (binomial)'),
    outcome=('**pass**: noisy 18/19 flags planted, faulty 4/6 (recall 4/24); probe +0.0 points, CI95 '
             '[-9.8, +9.8] (MDE 9.1, not gated)'),
    readme="dbpm/README.md",
)
