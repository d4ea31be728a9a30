"""CLIP (Radford et al., ICML 2021) and LiT (Zhai et al., CVPR 2022): the papers' spec (claim, files, outcome;
see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='clip',
    title='Learning Transferable Visual Models From Natural Language Supervision (CLIP), with LiT',
    citation='Radford et al., ICML 2021; Zhai et al., CVPR 2022',
    modality='image-text',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.clip.module:CLIP',
    reproduction="contrastkit.papers.clip.reproduce:reproduce",
    recipe='clip/recipe.yaml',
    claim='CLIP from scratch; LiT with frozen MiniLM on unseen prompts',
    outcome='held under the old rules (LiT 95.6 % vs CLIP 9.6 % on numeral prompts); not re-run under the paired rules',
    readme="clip/README.md",
)
