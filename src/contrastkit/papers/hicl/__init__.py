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
    outcome=('**not run**: the 3-seed full run was not timed or run this session (only the 1-seed quick smoke); '
             'method and tests in place'),
    readme="hicl/README.md",
)
