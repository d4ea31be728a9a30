"""RankGen: Improving Text Generation with Large Ranking Models (Krishna et al., EMNLP 2022): the paper's spec (claim,
files, outcome; see README.md)."""

from contrastkit.papers._spec import PaperSpec

SPEC = PaperSpec(
    name='rankgen',
    title='RankGen: Improving Text Generation with Large Ranking Models',
    citation='Krishna et al., EMNLP 2022',
    modality='text-generation',
    loss='contrastkit.generation.rankgen:RankGenLoss',
    module='contrastkit.generation.rankgen:RankGenEncoder',
    reproduction="contrastkit.papers.rankgen.reproduce:reproduce",
    recipe='rankgen/recipe.yaml',
    claim='reranked continuations closer to gold than sampling',
    outcome='**not testable** under the paired rules on the recorded 3 seeds (p = 0.052, MDE 0.047 > 0.02)',
    readme="rankgen/README.md",
)
