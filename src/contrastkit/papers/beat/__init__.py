"""BEAT (visual backdoors on embodied agents via Contrastive Trigger Learning, 2025): the paper's spec (claim,
files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='beat',
    title='BEAT: visual backdoor attacks on embodied agents via Contrastive Trigger Learning',
    citation='arXiv 2025',
    modality='vision',
    loss='contrastkit.losses:DPO',
    module='contrastkit.papers.beat.module:Policy',
    reproduction="contrastkit.papers.beat.reproduce:reproduce",
    recipe='beat/recipe.yaml',
    claim=('CTL after SFT raises step-level backdoor-activation F1 (fewer false activations on a look-alike), '
           'benign success within 2 points, holds on unseen trigger placements'),
    outcome='**fail** (5 seeds): SFT benign task 99.6 %; CTL F1 −6 points and benign success −24 points vs SFT',
    readme="beat/README.md",
)
