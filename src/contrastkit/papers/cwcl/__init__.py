"""CWCL: Cross-Modal Transfer with Continuously Weighted Contrastive Loss (Srinivasa et al., NeurIPS 2023): the paper's
spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='cwcl',
    title='CWCL: Cross-Modal Transfer with Continuously Weighted Contrastive Loss',
    citation='Srinivasa et al., NeurIPS 2023',
    modality='image-text',
    loss='contrastkit.losses:CWCL',
    module='contrastkit.papers.cwcl.module:CWCLModel',
    reproduction="contrastkit.papers.cwcl.reproduce:reproduce",
    recipe='cwcl/recipe.yaml',
    claim='CWCL zero-shot > InfoNCE (frozen MiniLM, Fashion-MNIST captions; oracle-targets precondition)',
    outcome='**fail** (10 seeds): +0.77 points, p = 0.26, MDE 3.1; preconditions hold',
    readme="cwcl/README.md",
)
