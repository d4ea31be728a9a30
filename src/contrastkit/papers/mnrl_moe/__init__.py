"""Contrastive Learning and Mixture of Experts Enables Precise Vector Embeddings (Hallee et al., 2024): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='mnrl-moe',
    title='Contrastive Learning and Mixture of Experts Enables Precise Vector Embeddings',
    citation='Hallee et al., 2024 (arXiv:2401.15713)',
    modality='text',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.mnrl_moe.module:PairMNRL',
    reproduction="contrastkit.papers.mnrl_moe.reproduce:reproduce",
    recipe='mnrl_moe/recipe.yaml',
    claim='per-domain retrieval P@1 and max-F1 of the enforced-routing MoE >= the shared fine-tuned model',
    outcome=('**fail** (3 seeds): MoE max-F1 on definitions 2.0 points below shared (CI95 [-2.9, -1.1], '
             'beyond the 1-point tolerance); 6 of 8 per-domain comparisons underpowered (MDE 1.3-9.6 > 1 point)'),
    readme="mnrl_moe/README.md",
)
