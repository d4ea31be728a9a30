"""Contrastive Learning with Adversarial Perturbations for Conditional Text Generation (Lee et al., ICLR 2021): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='claps',
    title='Contrastive Learning with Adversarial Perturbations for Conditional Text Generation',
    citation='Lee et al., ICLR 2021',
    modality='text-generation',
    loss='contrastkit.generation.claps:CLAPSLoss',
    module='contrastkit.generation.claps:CLAPS',
    reproduction="contrastkit.papers.claps.reproduce:reproduce",
    recipe='claps/recipe.yaml',
    claim='noisy-source token accuracy > MLE (pretrain → fine-tune, rescaled perturbations)',
    outcome=('**fail** (5 seeds, powered): noisy token acc CLAPS 89.3 vs MLE 90.6 %, −1.30 points, CI95 ['
             '−1.98, −0.63], p = 0.997, MDE 0.74 ≤ 1 point'),
    readme="claps/README.md",
)
