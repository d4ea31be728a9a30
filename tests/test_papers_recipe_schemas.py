"""Every paper's YAML files validate against a strict schema: an unknown key and a wrong type are errors
naming the dotted key (one parametrised test over every recipe file of every paper folder)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from contrastkit.papers._common import PAPERS_ROOT
from contrastkit.papers._schema import RecipeError, check_paper_yaml, schema_for

# folders whose recipes are validated elsewhere: the seqrec reproductions by contrastkit.papers._seqrec's
# shared schema (tests/test_papers_schema.py)
ELSEWHERE = {"cl4srec", "mclrec", "sra_cl"}
FILES = sorted(p for p in PAPERS_ROOT.glob("*/*.yaml") if p.parent.name not in ELSEWHERE)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _first(node: dict[str, Any], want, prefix: str = "") -> tuple[str, dict[str, Any], str] | None:
    """(dotted path, parent mapping, key) of the first value ``want`` accepts, depth first, outside ``quick``."""
    for key, value in node.items():
        if not prefix and key in ("quick", "name"):
            continue
        path = f"{prefix}{key}"
        if want(value):
            return path, node, key
        if isinstance(value, dict):
            found = _first(value, want, path + ".")
            if found is not None:
                return found
    return None


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_every_paper_file_has_a_schema():
    assert len(FILES) >= 30
    missing = [_id(p) for p in FILES if schema_for(p, _load(p).get("name")) is None]
    assert missing == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_recipe_is_strict(path):
    data = _load(path)
    check_paper_yaml(copy.deepcopy(data), path)  # the shipped file validates

    bad = copy.deepcopy(data)
    bad["bogus_top"] = 1
    with pytest.raises(RecipeError, match=r"bogus_top: unknown key"):
        check_paper_yaml(bad, path)

    found = _first(data, lambda v: isinstance(v, dict))
    if found is not None:  # a flat file (dcl's sweep) has only top-level keys
        bad = copy.deepcopy(data)
        section, _, _ = found
        node = bad
        for part in section.split("."):
            node = node[part]
        node["bogus_key"] = 1  # an unknown key, or in a name -> entry mapping (arms) an entry of the wrong type
        with pytest.raises(RecipeError, match=rf"{re.escape(section)}\.bogus_key: (unknown key|.*got 1)"):
            check_paper_yaml(bad, path)

    bad = copy.deepcopy(data)
    found = _first(bad, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    assert found is not None, "no number to give a wrong type"
    dotted, parent, key = found
    parent[key] = "not a number"
    with pytest.raises(RecipeError, match=rf"{re.escape(dotted)}[.:].*got 'not a number'"):
        check_paper_yaml(bad, path)


@pytest.mark.parametrize("path", [p for p in FILES if "quick" in _load(p) and _load(p)["quick"]], ids=_id)
def test_quick_overrides_are_strict(path):
    data = _load(path)
    bad = copy.deepcopy(data)
    bad["quick"]["bogus_quick"] = 1
    with pytest.raises(RecipeError, match=r"bogus_quick: unknown key"):
        check_paper_yaml(bad, path)
