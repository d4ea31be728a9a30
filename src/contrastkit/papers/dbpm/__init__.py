"""Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach (Lan et al., ICLR 2024): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='dbpm',
    title='Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining Approach',
    citation='Lan et al., ICLR 2024',
    modality='timeseries',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.methods.ts_contrastive:TSSimCLR',
    reproduction="contrastkit.papers.dbpm.reproduce:reproduce",
    recipe='dbpm/recipe.yaml',
    claim='flags planted bad pairs; probe ≥ without',
    outcome='noisy pairs 100 % precision; faulty pairs not flagged (**partly**); probe 69.1 vs 67.9 %',
    readme="dbpm/README.md",
)
