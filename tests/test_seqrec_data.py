"""RecBole atomic reader, chronological sequences, leave-one-out split and k-core filter."""

import importlib.util

import numpy as np
import pytest
import torch

from contrastkit.seqrec import SASRec, k_core, load_atomic, load_seqrec, read_atomic
from contrastkit.seqrec.data import check_item_ids

INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "u1\ta\t5\t30\n" "u1\tb\t3\t10\n" "u1\tc\t4\t20\n" "u1\td\t1\t20\n" "u1\te\t2\t40\n"
    "u2\tb\t5\t5\n" "u2\ta\t5\t6\n" "u2\tc\t5\t7\n"
    "u3\ta\t1\t1\n" "u3\tb\t1\t2\n"            # 2 interactions: dropped (leave-one-out needs 3)
)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "toy"
    d.mkdir()
    (d / "toy.inter").write_text(INTER)
    (d / "toy.item").write_text("item_id:token\tmovie_title:token_seq\tclass:token_seq\n"
                                "a\tThe A\tDrama\nb\tB\tComedy Drama\nc\tC\tAction\nd\tD\tDrama\ne\tE\tHorror\n")
    return d


def test_reader_types(folder):
    item = read_atomic(folder / "toy.item")
    assert list(item.columns) == ["item_id", "movie_title", "class"]
    assert item["class"][1] == ["Comedy", "Drama"]
    inter = read_atomic(folder / "toy.inter")
    assert inter["timestamp"].dtype == np.float64 and inter["user_id"][0] == "u1"


def test_chronological_sequences_and_split(folder):
    d = load_seqrec(folder, max_len=3)
    assert d.user_tokens == ["u1", "u2"]
    tok = {t: i + 1 for i, t in enumerate(d.item_tokens)}
    # u1 sorted by time, the tie at t=20 keeps the file order (c before d)
    assert [d.item_tokens[i - 1] for i in d.sequences[0]] == ["b", "c", "d", "a", "e"]
    x, y = d.eval_inputs("test")
    assert y.tolist() == [tok["e"], tok["c"]]
    assert x[0].tolist() == [tok["c"], tok["d"], tok["a"]]           # last max_len = 3 items
    xv, yv = d.eval_inputs("valid")
    assert yv.tolist() == [tok["a"], tok["a"]]
    assert xv[1].tolist() == [0, 0, tok["b"]]
    inputs, targets, users = d.train_instances()
    assert targets.tolist() == [tok["c"], tok["d"]] and users.tolist() == [0, 0]
    seen = d.seen_mask("test")
    assert seen[0, tok["a"] - 1] and not seen[0, tok["e"] - 1]


def test_windows_cover_every_training_target_once():
    d = load_seqrec(max_len=7) if importlib.util.find_spec("recbole") else None
    if d is None:
        pytest.skip("recbole (ml-100k) not installed")
    _, t_inst, u_inst = d.train_instances()
    _, t_win, u_win = d.train_windows("all")
    for u in (0, 5, 100):
        want = sorted(t_inst[u_inst == u].tolist())
        got = sorted(t_win[u_win == u][t_win[u_win == u] > 0].tolist())
        assert got == want


def test_k_core_against_loop(folder):
    inter = load_atomic(folder).inter
    out = k_core(inter, 2)
    # naive: repeat until stable
    cur = inter
    while True:
        uc, ic = cur["user_id"].value_counts(), cur["item_id"].value_counts()
        keep = cur[cur["user_id"].map(uc).ge(2) & cur["item_id"].map(ic).ge(2)]
        if len(keep) == len(cur):
            break
        cur = keep
    assert out.index.tolist() == cur.index.tolist()
    assert set(out["item_id"]) == {"a", "b", "c"}


def test_bad_folders(tmp_path, folder):
    with pytest.raises(ValueError, match="path: no interaction file"):
        load_atomic(tmp_path)
    with pytest.raises(ValueError, match="is not a directory"):
        load_atomic(tmp_path / "missing")
    with pytest.raises(ValueError, match="k_core: no interaction survives"):
        load_seqrec(folder, k=10)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.inter").write_text("user_id\titem_id\nu\ti\n")
    with pytest.raises(ValueError, match="is not 'name:type'"):
        load_atomic(tmp_path / "bad")


def test_item_id_checks():
    with pytest.raises(ValueError, match=r"seq: item ids must lie in \[0, 11\]"):
        check_item_ids(torch.tensor([[0, 12]]), 10)
    with pytest.raises(ValueError, match="seq: 1 sequences are empty"):
        check_item_ids(torch.tensor([[0, 3], [0, 0]]), 10)
    model = SASRec(10, 4)
    with pytest.raises(ValueError, match="seq: item ids must lie in"):
        model(torch.tensor([[0, -1, 2, 3]]))
    with pytest.raises(ValueError, match="seq: 1 sequences are empty"):
        model(torch.zeros(1, 4, dtype=torch.long))


@pytest.mark.skipif(importlib.util.find_spec("recbole") is None, reason="recbole (ml-100k) not installed")
def test_ml100k_statistics():
    d = load_seqrec()
    assert (d.n_users, d.n_items, sum(map(len, d.sequences))) == (943, 1682, 100000)
    assert d.atomic.item is not None and d.atomic.user is not None
    assert load_seqrec(k=5).n_items < 1682
