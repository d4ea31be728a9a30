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
    outcome=('**fail** (12 seeds, powered): vs SupCon −0.08°, CI95 [−0.16, +0.002]°, p = 0.97, MDE 0.10° ≤ 0.14°; '
             'vs L1 −0.54°, CI95 [−0.69, −0.38]°'),
    readme="supremix/README.md",
)
