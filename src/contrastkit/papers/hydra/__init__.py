"""Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate (arXiv 2410.18200): the paper's spec
(claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='hydra',
    title='Hydra / SimLAP: arbitrary class pairs as positives through a label-pair gate',
    citation='arXiv 2410.18200',
    modality='vision',
    loss='contrastkit.losses:Hydra',
    module='contrastkit.papers.hydra.module:HydraContrastive',
    reproduction="contrastkit.papers.hydra.reproduce:reproduce",
    recipe='hydra/recipe.yaml',
    claim='SupCon on arbitrary pairs collapses, gated version keeps accuracy',
    outcome='85.2 vs 96.6 % (holds under the old rules); paired rules not yet run',
    readme="hydra/README.md",
)
