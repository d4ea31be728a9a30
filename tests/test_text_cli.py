"""``contrastkit embed`` / ``contrastkit search``: the index round trip and one-line errors (exit 2)."""

import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.text import TextEncoder
from contrastkit.text.cli import read_index

TEXTS = ["A man is playing a guitar.", "The cat sat on the mat.", "Stocks fell sharply on Monday.",
         "A woman plays the violin.", "Héllo wörld, ünïcode survives."]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "corpus.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = root / "emb.safetensors"
    res = CliRunner().invoke(app, ["embed", str(root / "corpus.txt"), "--out", str(out), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    return out


def test_embed_writes_embeddings_and_texts(index):
    emb, texts, meta = read_index(index)
    assert texts == TEXTS and emb.shape == (5, 384) and meta["format"] == "contrastkit-text-index/1"
    torch.testing.assert_close(emb, TextEncoder.from_pretrained().encode(TEXTS), atol=1e-6, rtol=0)


def test_search_prints_the_nearest_texts(index):
    res = CliRunner().invoke(app, ["search", "--index", str(index), "-k", "2", "someone performs music"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("1\t")
    assert {line.split("\t")[2] for line in lines} == {TEXTS[0], TEXTS[3]}


def _err(args):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    out = res.output.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("error: "), res.output
    return out[0]


def test_one_line_errors(index, tmp_path):
    (tmp_path / "blank.txt").write_text("first\n\nthird\n")
    assert "FILE: line 2" in _err(["embed", str(tmp_path / "blank.txt"), "--out", str(tmp_path / "o")])
    (tmp_path / "empty.txt").write_text("")
    assert "empty corpus" in _err(["embed", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "o")])
    (tmp_path / "notmodel").mkdir()
    (tmp_path / "ok.txt").write_text("fine\n")
    assert "--model:" in _err(["embed", str(tmp_path / "ok.txt"), "--out", str(tmp_path / "o"),
                               "--model", str(tmp_path / "notmodel")])
    assert "--k: 6 is larger than the corpus (5 texts" in _err(["search", "--index", str(index), "-k", "6", "q"])
    assert "QUERY: expected a non-empty query" in _err(["search", "--index", str(index), "  "])
    (tmp_path / "x.safetensors").write_bytes(b"junk")
    assert "--index:" in _err(["search", "--index", str(tmp_path / "x.safetensors"), "q"])
    assert "--index:" in _err(["search", "--index", str(tmp_path / "none.safetensors"), "q"])
