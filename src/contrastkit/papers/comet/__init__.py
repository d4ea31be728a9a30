"""Contrast Everything: A Hierarchical Contrastive Framework for Medical Time-Series (Wang et al., NeurIPS 2023): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='comet',
    title='Contrast Everything: A Hierarchical Contrastive Framework for Medical Time-Series',
    citation='Wang et al., NeurIPS 2023',
    modality='timeseries',
    loss='contrastkit.timeseries.comet:COMETLoss',
    module='contrastkit.papers.comet.module:COMET',
    reproduction="contrastkit.papers.comet.reproduce:reproduce",
    recipe='comet/recipe.yaml',
    claim='all four levels ≥ every single level',
    outcome='87.5 vs 87.8 % (**not reproduced**, by 0.3 points)',
    readme="comet/README.md",
)
