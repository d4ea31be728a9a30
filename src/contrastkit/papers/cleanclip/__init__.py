"""CleanCLIP: Mitigating Data Poisoning Attacks in Multimodal Contrastive Learning (Bansal et al., ICCV 2023): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='cleanclip',
    title='CleanCLIP: Mitigating Data Poisoning Attacks in Multimodal Contrastive Learning',
    citation='Bansal et al., ICCV 2023',
    modality='image-text',
    loss='contrastkit.losses.infonce:InfoNCE',
    module='contrastkit.papers.cleanclip.module:CleanCLIP',
    reproduction="contrastkit.papers.cleanclip.reproduce:reproduce",
    recipe='cleanclip/recipe.yaml',
    claim='poisoned mini-CLIP ASR >= 70 %; CleanCLIP ASR >= 15 points below CLIP-only FT; clean accuracy within 2',
    outcome='**fail** (5 seeds): poisoned ASR 98 %; CleanCLIP 11.6 points below CLIP-only FT (< 15)',
    readme="cleanclip/README.md",
)
