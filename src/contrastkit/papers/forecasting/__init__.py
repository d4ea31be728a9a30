"""TS2Vec: Towards Universal Representation of Time Series (Yue et al., AAAI 2022): the paper's spec (claim, files,
outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='forecasting',
    title='TS2Vec: Towards Universal Representation of Time Series',
    citation='Yue et al., AAAI 2022',
    modality='timeseries',
    loss='contrastkit.timeseries.losses:HierarchicalContrastiveLoss',
    module='contrastkit.methods.ts_contrastive:TS2Vec',
    reproduction="contrastkit.papers.forecasting.reproduce:reproduce",
    recipe='forecasting/recipe.yaml',
    claim=('ridge on TS2Vec representations beats the last value at every horizon (Airline, 10 seeds, '
           'paired)'),
    outcome=('**fail**: worse at H = 1 (p = 0.91) and H = 3 (p = 0.69), better at H = 12 (p = 3e-5); '
             'raw-window ridge 15–35× better'),
    readme="forecasting/README.md",
)
