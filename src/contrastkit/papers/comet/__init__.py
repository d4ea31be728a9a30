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
    claim='all four levels > every single level by 2 points, leave-patients-out probe',
    outcome=('**not testable**: 40 (pseudo-)patients give an MDE of 18.4 points (patient = unit) > 2-point '
             'margin; no real patient ids offline'),
    readme="comet/README.md",
)
