"""The strict recipe schema of the reproductions (``contrastkit.papers._schema``) and the recipes that use it."""

import copy

import pytest
import yaml

from contrastkit.papers._common import recipe_path
from contrastkit.papers._schema import RecipeError, parse_paper_recipe
from contrastkit.papers.simctg.reproduce import SimCTGRecipe
from contrastkit.papers.simctg.reproduce import load as load_simctg


def _simctg():
    return yaml.safe_load(recipe_path("simctg").read_text())


def _bad(edit, match):
    data = _simctg()
    edit(data)
    with pytest.raises(RecipeError, match=match):
        parse_paper_recipe(data, SimCTGRecipe)


def test_shipped_generation_recipes_hold_the_measured_settings():
    # written out by hand: the settings docs/generation.md was measured with
    full, quick = load_simctg(), load_simctg(quick=True)
    assert full.seeds == [0, 1, 2] and list(full.arms) == ["mle", "simctg"]
    assert (full.trainer.steps, full.data.n_docs, full.data.n_prompts, full.decoding.new_tokens) == (250, 2000, 20, 40)
    q = quick
    assert (q.trainer.steps, q.data.n_docs, q.data.n_prompts, q.decoding.new_tokens) == (40, 400, 10, 24)
    assert full.trainer.lr == 3e-3 and full.arms["simctg"].margin == 0.5 and full.arms["mle"].margin is None


def test_unknown_key_is_named_by_its_dotted_path():
    _bad(lambda d: d["trainer"].update(bogus=1), r"trainer\.bogus: unknown key")
    _bad(lambda d: d.update(extra={}), r"extra: unknown key")


def test_missing_key_is_named():
    _bad(lambda d: d["data"].pop("n_docs"), r"data\.n_docs: missing required key")


def test_no_coercion():
    _bad(lambda d: d["trainer"].update(steps="200"), r"trainer\.steps: .*got '200' \(quoted numbers")
    _bad(lambda d: d.update(seeds=[0, True]), r"seeds\.1: .*got True")
    _bad(lambda d: d["arms"]["simctg"].update(margin="yes"), r"arms\.simctg\.margin")
    _bad(lambda d: d["trainer"].update(steps=2.5), r"trainer\.steps")


def test_floats_must_be_finite_and_yaml11_exponents_are_explained():
    _bad(lambda d: d["trainer"].update(lr=float("inf")), r"trainer\.lr: .*finite")
    _bad(lambda d: d["trainer"].update(lr=float("nan")), r"trainer\.lr")
    data = yaml.safe_load("lr: 1e-3\nok: 1.0e-3\n")
    assert data == {"lr": "1e-3", "ok": 0.001}  # why: PyYAML is YAML 1.1
    _bad(lambda d: d["trainer"].update(lr="1e-3"), r"trainer\.lr: .*write 1\.0e-3")
    good = _simctg()
    good["trainer"]["lr"] = 3  # an integer is a valid float
    assert parse_paper_recipe(good, SimCTGRecipe).trainer.lr == 3


def test_quick_overrides_are_validated_too():
    _bad(lambda d: d["quick"]["trainer"].update(steps="40"), r"with the quick overrides\)\n  trainer\.steps")
    data = _simctg()
    data["quick"]["trainer"]["steps"] = "40"
    with pytest.raises(RecipeError, match=r"trainer\.steps"):
        parse_paper_recipe(data, SimCTGRecipe, quick=True)
    data["quick"] = ["not", "a", "mapping"]
    with pytest.raises(RecipeError, match="quick: expected a mapping"):
        parse_paper_recipe(data, SimCTGRecipe)




def test_rankgen_recipe_holds_the_measured_settings():
    from contrastkit.papers.rankgen.reproduce import load as load_rankgen

    full, quick = load_rankgen(), load_rankgen(quick=True)
    assert full.seeds == [0, 1, 2] and list(full.arms) == ["both", "inbook_only", "generated_only"]
    def sizes(r):
        return r.data.n_docs, r.generator.steps, r.trainer.steps, r.evaluation.n_prompts

    assert sizes(full) == (1500, 100, 300, 60) and sizes(quick) == (400, 60, 60, 12)
    assert list(quick.arms) == ["both"]  # a null in quick drops the arm
    assert full.data.splits == [32, 64, 96] and full.trainer.lr == 1e-3 and full.data.top_p == 0.9


def test_rankgen_recipe_is_strict():
    from contrastkit.papers.rankgen.reproduce import RankGenRecipe

    data = yaml.safe_load(recipe_path("rankgen").read_text())
    data["arms"]["both"]["inbook"] = "yes"
    with pytest.raises(RecipeError, match=r"arms\.both\.inbook"):
        parse_paper_recipe(data, RankGenRecipe)
    data = yaml.safe_load(recipe_path("rankgen").read_text())
    data["model"]["d_modle"] = 64
    with pytest.raises(RecipeError, match=r"model\.d_modle: unknown key"):
        parse_paper_recipe(data, RankGenRecipe)


@pytest.mark.parametrize("name", ["autotcl", "comet", "dbpm", "forecasting"])
def test_time_series_recipes_are_strict(name):
    from contrastkit.papers._timeseries import check_recipe, load_recipe

    recipe = load_recipe(name)  # the shipped recipe validates
    bad = copy.deepcopy(recipe)
    bad["training"]["lrr"] = 0.1
    with pytest.raises(RecipeError, match=r"training\.lrr: unknown key"):
        check_recipe(name, bad)
    bad = copy.deepcopy(recipe)
    bad["training"]["batch_size"] = "16"
    with pytest.raises(RecipeError, match=r"training\.batch_size: .*quoted numbers"):
        check_recipe(name, bad)
    bad = copy.deepcopy(recipe)
    bad["training"]["seeds"] = [0, 1.5]
    with pytest.raises(RecipeError, match=r"training\.seeds\.1"):
        check_recipe(name, bad)
    bad = copy.deepcopy(recipe)
    bad["quick"] = {"epochs": "3"} if "epochs" in recipe["training"] else {"iterations": "3"}
    with pytest.raises(RecipeError, match=r"with the quick overrides\)\n  training\.(epochs|iterations)"):
        check_recipe(name, bad)


@pytest.mark.parametrize("name", ["cl4srec", "mclrec", "sra-cl"])
def test_seqrec_recipes_are_strict(name):
    from contrastkit.papers._seqrec import check_recipe, load_recipe

    recipe = load_recipe(name)
    for edit, match in (
        (lambda r: r["methods"]["cl4srec"].update(crop=1.4), r"methods\.cl4srec\.crop: .*less than or equal to 1"),
        (lambda r: r["encoder"].update(heads=2), r"encoder\.heads: unknown key"),
        (lambda r: r["training"].update(methods=["sasrec", "gru4rec"]), r"training\.methods\.1"),
        (lambda r: r["quick"].update(max_users="50"), r"with the quick overrides\)\n  training\.max_users"),
    ):
        bad = copy.deepcopy(recipe)
        edit(bad)
        with pytest.raises(RecipeError, match=match):
            check_recipe(name, bad)
