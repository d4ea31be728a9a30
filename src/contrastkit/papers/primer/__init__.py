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
    outcome="PENDING",
    readme="primer/README.md",
)
