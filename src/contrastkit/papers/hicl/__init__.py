"""HICL: Hashtag-Driven In-Context Learning for Social Media Natural Language Understanding (Tan et al., 2023):
the paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='hicl',
    title='HICL: Hashtag-Driven In-Context Learning for Social Media Natural Language Understanding',
    citation='Tan et al., 2023 (IEEE TNNLS 2025)',
    modality='text',
    loss='contrastkit.losses:InfoNCE',
    module='contrastkit.papers.hicl.module:HashEncoder',
    reproduction="contrastkit.papers.hicl.reproduce:reproduce",
    recipe='hicl/recipe.yaml',
    claim=('#Encoder topic precision@1 > off-the-shelf MiniLM; classifier with retrieved context and trigger '
           'terms > without'),
    outcome=('**not testable** (3 seeds): #Encoder topic P@1 67.8 vs MiniLM 48.8 % (+19.0 points, p = 3e-4, '
             'holds); classifier with context +4.1 macro-F1 points, p = 0.068, MDE 6.7 > 0.9 (no power)'),
    readme="hicl/README.md",
)
