"""Understanding the Behaviour of Contrastive Loss (Wang & Liu, CVPR 2021): the paper's spec (claim, files, outcome;
see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='temperature',
    title='Understanding the Behaviour of Contrastive Loss',
    citation='Wang & Liu, CVPR 2021',
    modality='vision',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.methods.view_contrastive:SimCLR',
    reproduction="contrastkit.papers.temperature.reproduce:reproduce",
    recipe='temperature/recipe.yaml',
    claim='lower τ → more uniform (L_U) and less tolerant (T): per-seed slope vs log τ > 0',
    outcome=('**pass** (3 seeds): L_U slope +0.35 (p = 0.002), T slope +0.22 (p = 2e-4); hard negatives at τ ='
             ' 1 −1.8 points (not gated)'),
    readme="temperature/README.md",
)
