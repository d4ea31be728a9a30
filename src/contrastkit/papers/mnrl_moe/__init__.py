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
    outcome=('**not run**: the 3-seed full run was not timed or run this session (only the 1-seed quick smoke); '
             'method and tests in place'),
    readme="mnrl_moe/README.md",
)
