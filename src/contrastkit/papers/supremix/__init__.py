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
    claim='lower probe MAE than the official SupCon and L1 (age-like integer labels)',
    outcome=('**fail** (6 seeds): vs L1 refuted, vs SupCon inconclusive and underpowered (3.23° vs 3.13°, '
             'MDE 0.19° > 0.14°); vs L1 significantly worse (3.23° vs 2.75°, CI95 of the gain [−0.76, −0.20]°)'),
    readme="supremix/README.md",
)
