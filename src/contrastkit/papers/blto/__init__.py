"""BLTO: Backdoor Contrastive Learning via Bi-level Trigger Optimization (Sun et al., ICLR 2024): the paper's spec
(claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='blto',
    title='Backdoor Contrastive Learning via Bi-level Trigger Optimization',
    citation='Sun et al., ICLR 2024',
    modality='vision',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.blto.module:BiLevelTriggerOptimizer',
    reproduction="contrastkit.papers.blto.reproduce:reproduce",
    recipe='blto/recipe.yaml',
    claim='BLTO ASR > fixed patch and fixed noise (3 % poison, SimCLR victim); clean accuracy within 3 points',
    outcome='**not testable** (3 seeds): no trigger implants a backdoor at this scale (every ASR < 1 %)',
    readme="blto/README.md",
)
