"""A Contrastive Framework for Neural Text Generation (Su et al., NeurIPS 2022): the paper's spec (claim, files,
outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='simctg',
    title='A Contrastive Framework for Neural Text Generation',
    citation='Su et al., NeurIPS 2022',
    modality='text-generation',
    loss='contrastkit.generation.simctg:simctg_lm_loss',
    module='',
    reproduction="contrastkit.papers.simctg.reproduce:reproduce",
    recipe='simctg/recipe.yaml',
    claim='SimCTG more isotropic; contrastive search lowers rep-n',
    outcome='holds (isotropy 0.92 vs 0.59; rep-2 38.7 → 1.5)',
    readme="simctg/README.md",
)
