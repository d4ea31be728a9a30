"""Separating common from salient patterns with contrastive representation learning (Louiset et al., ICLR 2024): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='sepclr',
    title='Separating common from salient patterns with contrastive representation learning',
    citation='Louiset et al., ICLR 2024',
    modality='vision',
    loss='contrastkit.losses:SepCLR',
    module='contrastkit.papers.sepclr.module:SepCLRModel',
    reproduction="contrastkit.papers.sepclr.reproduce:reproduce",
    recipe='sepclr/recipe.yaml',
    claim='less salient (digit) leakage into the common space with k-JEM than without',
    outcome='**pass** (10 seeds): 75.3 vs 84.9 %, p = 2e-6; separation partial',
    readme="sepclr/README.md",
)
