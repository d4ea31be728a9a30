"""InverTune: Removing Backdoors from Multimodal Contrastive Learning Models via Trigger Inversion and Activation
Tuning (Wang et al., NDSS 2026): the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='invertune',
    title='InverTune: Removing Backdoors from Multimodal Contrastive Learning Models via Trigger Inversion and '
          'Activation Tuning',
    citation='Wang et al., NDSS 2026',
    modality='image-text',
    loss='contrastkit.losses.infonce:InfoNCE',
    module='contrastkit.papers.invertune.module:activation_tune',
    reproduction="contrastkit.papers.invertune.reproduce:reproduce",
    recipe='invertune/recipe.yaml',
    claim='target found in >= 2 of 3 seeds; real-trigger ASR falls >= 80 % relative; clean accuracy drop <= 5 '
          'points (precondition: poisoned ASR >= 70 %)',
    outcome='**fail** (3 seeds): target found 3/3; real-trigger ASR 98.8 % -> 66.6 % (-32.5 % relative, < 80 %); '
            'clean accuracy kept',
    readme="invertune/README.md",
)
