"""The shared WordNet reader (contrastkit._wordnet): one hand-written wndb(5WN) line, errors."""

import pytest

from contrastkit._wordnet import parse_line, read_synsets, wordnet_available

LINE = ("00001740 03 n 02 entity 0 Real_Thing(a) 1 002 @ 00002137 n 0000 ~ 00001930 n 0102 "
        "| that which is perceived\n")


def test_parse_line_fields():
    s = parse_line(LINE)
    assert (s.offset, s.lex_filenum, s.ss_type, s.gloss) == ("00001740", 3, "n", "that which is perceived")
    assert s.words == ("entity", "Real_Thing")  # marker removed, case and "_" kept
    assert [(p.symbol, p.offset, p.pos, p.source_target) for p in s.pointers] == [
        ("@", "00002137", "n", "0000"), ("~", "00001930", "n", "0102")]
    with pytest.raises(ValueError, match="line: not a WordNet data line"):
        parse_line("00001740 03 n zz | gloss")


def test_reader_errors(tmp_path):
    assert not wordnet_available(tmp_path)
    with pytest.raises(ValueError, match="pos: expected one of"):
        read_synsets("pronoun", tmp_path)
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        read_synsets("noun", tmp_path)
    (tmp_path / "data.noun").write_text("  licence header line\n" + LINE)
    assert wordnet_available(tmp_path) and read_synsets("noun", tmp_path)[0].words[0] == "entity"
