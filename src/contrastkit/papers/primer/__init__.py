"""A Primer on Contrastive Pretraining in Language Processing (Rethmeier & Augenstein, ACM CSUR 2023): the input-label
contrast's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="primer",
    title="A Primer on Contrastive Pretraining in Language Processing: Methods, Lessons Learned and Perspectives",
    citation="Rethmeier & Augenstein, ACM Computing Surveys 2023",
    modality="text",
    loss="contrastkit.losses:InputLabelInfoNCE",
    module="",
    reproduction="contrastkit.papers.primer.reproduce:reproduce",
    recipe="primer/recipe.yaml",
    claim="input-label contrast: zero-shot accuracy on held-out label names far above chance",
    outcome=("**pass** on 3 seeds:"
             " zero-shot 0.772 ± 0.033 on 5 held-out labels (chance 0.20); the untrained tower already 0.797"),
    readme="primer/README.md",
)
