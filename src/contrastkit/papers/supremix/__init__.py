"""Mixup Your Own Pairs (SupReMix) (Wu et al., arXiv 2309.16633, 2023): the paper's spec (claim, files, outcome; see
README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='supremix',
    title='Mixup Your Own Pairs (SupReMix)',
    citation='Wu et al., arXiv 2309.16633, 2023',
    modality='vision',
    loss='contrastkit.losses:SupReMix',
    module='contrastkit.papers.supremix.module:ContrastiveRegression',
    reproduction="contrastkit.papers.supremix.reproduce:reproduce",
    recipe='supremix/recipe.yaml',
    claim='lower MAE than L1 and binned SupCon',
    outcome='17.1° vs 12.3° / 12.9° (**not reproduced**)',
    readme="supremix/README.md",
)
