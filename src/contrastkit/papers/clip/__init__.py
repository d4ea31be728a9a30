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
    outcome=('**fail** (5 seeds): Fashion-MNIST zero-shot 52.8 % > 50 % not shown (p = 0.083, MDE 5.0); '
             'digits 97.2 % > 80 % and LiT - CLIP on numeral prompts +85.4 points hold'),
    readme="clip/README.md",
)
