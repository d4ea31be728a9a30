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
    claim='less salient leakage into the common space',
    outcome='29.4 vs 28.2 % (**not reproduced**)',
    readme="sepclr/README.md",
)
