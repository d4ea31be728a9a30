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
    claim='lower τ → more uniform, less tolerant',
    outcome=('holds, monotone over τ ∈ {0.1, 0.2, 0.5, 1}; hard negatives at τ = 1 lose 1.8 points '
        '(**not reproduced**)'),
    readme="temperature/README.md",
)
