"""Continual Contrastive Spoken Language Understanding (COCONUT; Cappellazzo et al., ACL Findings 2024): the
paper's spec (claim, files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name="coconut",
    title="Continual Contrastive Spoken Language Understanding (COCONUT)",
    citation="Cappellazzo et al., ACL Findings 2024",
    modality="speech",
    loss="contrastkit.losses.coconut:NSPT",
    module="contrastkit.papers.coconut.module:COCONUTModel",
    reproduction="contrastkit.papers.coconut.reproduce:reproduce",
    recipe="coconut/recipe.yaml",
    claim="forgetting ER+NSPT+MM < ER+NSPT < ER; final average accuracy in the reverse order",
    outcome=("**fail** (3 seeds): NSPT does not cut forgetting vs ER (-0.9 points, MDE 3.7); "
             "MM cuts it vs NSPT (+5.9 points, p = 0.04)"),
    readme="coconut/README.md",
)
