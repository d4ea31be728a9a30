"""Learning Transferable Visual Models From Natural Language Supervision (CLIP); LiT (Zhai et al., CVPR 2022) (Radford
et al., ICML 2021): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='clip',
    title=('Learning Transferable Visual Models From Natural Language Supervision (CLIP); LiT (Zhai et'
        ' al., CVPR 2022)'),
    citation='Radford et al., ICML 2021',
    modality='image-text',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.clip.module:CLIP',
    reproduction="contrastkit.papers.clip.reproduce:reproduce",
    recipe='clip/recipe.yaml',
    claim='CLIP from scratch; LiT with frozen MiniLM on unseen prompts',
    outcome='held under the old rules (LiT 95.6 % vs CLIP 9.6 % on numeral prompts); not re-run (paired.py)',
    readme="clip/README.md",
)
