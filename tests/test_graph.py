"""contrastkit.graph: the WordNet heterogeneous graph, augmentations, GRACE and the F1 probe."""

import math

import pytest
import torch

pytest.importorskip("torch_geometric")

from contrastkit.evaluate import linear_probe_f1  # noqa: E402
from contrastkit.graph.augment import check_edge_index, drop_edges, mask_features  # noqa: E402
from contrastkit.graph.grace import GRACE, grace_reference_loss  # noqa: E402


@pytest.fixture(scope="module")
def graph():
    from contrastkit.graph.data import wordnet_available, wordnet_hetero

    if not wordnet_available():
        pytest.skip("WordNet is not on this machine (apt-get install -y wordnet-base, or `make data`)")
    return wordnet_hetero(n_lemmas=300, min_class_size=45, vocabulary=200)


@pytest.mark.requires_wordnet
def test_parser_matches_hand_checked_wordnet_entries():
    from contrastkit.graph.data import read_noun_synsets

    syn = read_noun_synsets()
    assert len(syn) == 82115  # WordNet 3.0 noun synsets
    dog = syn["02084071"]  # dog.n.01
    assert dog.lexname == "noun.animal"
    assert dog.lemmas[:2] == ("dog", "domestic_dog")
    assert set(dog.hypernyms) == {"02083346", "01317541"}  # canine.n.02, domestic_animal.n.01
    assert dog.gloss.startswith("a member of the genus Canis")


@pytest.mark.requires_wordnet
def test_meta_paths_equal_a_naive_loop(graph):
    n = graph["synset"].num_nodes
    for name, rel in (("SLS", "has_lemma"), ("SHS", "has_hypernym")):
        e = graph["synset", rel, graph.edge_types[[r for _, r, _ in graph.edge_types].index(rel)][2]].edge_index
        via: dict[int, set[int]] = {}
        for s, m in e.T.tolist():
            via.setdefault(m, set()).add(s)
        naive = {(a, b) for group in via.values() for a in group for b in group if a != b}
        got = set(map(tuple, graph["synset", name, "synset"].edge_index.T.tolist()))
        assert got == naive and all(0 <= a < n for a, _ in got)


@pytest.mark.requires_wordnet
def test_split_is_fixed_disjoint_and_per_class(graph):
    from contrastkit.graph.data import wordnet_hetero

    s = graph["synset"]
    masks = torch.stack([s.train_mask, s.val_mask, s.test_mask]).int()
    assert bool((masks.sum(0) == 1).all())
    assert all(int(((s.y == c) & s.train_mask).sum()) == 20 for c in range(len(graph.label_names)))
    again = wordnet_hetero(n_lemmas=300, min_class_size=45, vocabulary=200)
    assert torch.equal(again["synset"].train_mask, s.train_mask) and again["synset"].offset == s.offset


def test_missing_wordnet_is_a_clear_error(tmp_path):
    from contrastkit.graph.data import read_noun_synsets, wordnet_available

    assert not wordnet_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        read_noun_synsets(tmp_path)


def test_augmentations_identity_at_zero_and_bounds():
    x = torch.rand(6, 4)
    e = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    assert drop_edges(e, 0.0) is e and mask_features(x, 0.0) is x
    assert drop_edges(e, 1.0).shape == (2, 0)
    assert bool((mask_features(x, 1.0) == 0).all())
    g = torch.Generator().manual_seed(0)
    masked = mask_features(x, 0.5, generator=g)
    zero_cols = (masked == 0).all(0)
    assert bool(((masked == x) | zero_cols).all())  # whole columns, never partial
    entries = mask_features(x, 0.5, per="entry", generator=torch.Generator().manual_seed(0))
    assert bool(((entries == x) | (entries == 0)).all())
    kept = drop_edges(torch.randint(0, 50, (2, 20000)), 0.3, num_nodes=50, generator=g).shape[1]
    assert abs(kept / 20000 - 0.7) < 0.02


@pytest.mark.parametrize("p", [-0.1, 1.5, True, "0.2"])
def test_probability_outside_unit_interval_is_named(p):
    with pytest.raises(ValueError, match="p: expected a probability"):
        drop_edges(torch.tensor([[0], [1]]), p)
    with pytest.raises(ValueError, match="p: expected a probability"):
        mask_features(torch.rand(2, 2), p)


def test_bad_graphs_are_named():
    with pytest.raises(ValueError, match=r"edge_index: node ids must lie in \[0, 3\)"):
        drop_edges(torch.tensor([[0, 1], [1, 5]]), 0.1, num_nodes=3)
    with pytest.raises(ValueError, match="edge_index: the graph is empty"):
        check_edge_index(torch.zeros(2, 0, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="edge_index: expected a"):
        check_edge_index(torch.zeros(3, 2, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="x: expected a non-empty"):
        mask_features(torch.zeros(0, 3), 0.2)
    with pytest.raises(ValueError, match="edge_index"):
        GRACE(4).loss(torch.rand(3, 4), torch.tensor([[0], [7]]))


def test_grace_loss_equals_the_reference_in_float64():
    torch.manual_seed(0)
    h1, h2 = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    from contrastkit.losses import InfoNCE

    got = InfoNCE(0.4, mode="two_view", similarity="cosine", tile_size=None)(h1, h2)
    assert torch.allclose(got, grace_reference_loss(h1, h2, 0.4), atol=1e-12)


def test_grace_trains_on_a_tiny_graph():
    torch.manual_seed(0)
    x, e = torch.rand(12, 6), torch.randint(0, 12, (2, 40))
    model = GRACE(6, 16, 8)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = model.loss(x, e, generator=torch.Generator().manual_seed(1))
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    assert float(loss.detach()) < first and model(x, e).shape == (12, 8)


def test_f1_probe_matches_sklearn_and_names_bad_labels():
    from sklearn.metrics import f1_score

    torch.manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.randn(60, 4) + torch.nn.functional.one_hot(y, 4).float() * 2
    got = linear_probe_f1(x[:30], y[:30], x[30:], y[30:])
    acc_pred = got["micro_f1"]
    from contrastkit.evaluate import linear_probe

    assert math.isclose(acc_pred, linear_probe(x[:30], y[:30], x[30:], y[30:]))  # micro-F1 = accuracy
    assert 0 < got["macro_f1"] <= 1
    assert got["macro_f1"] != f1_score(y[30:], torch.zeros(30), average="macro")
    with pytest.raises(ValueError, match="labels"):
        linear_probe_f1(x[:30], y[:29], x[30:], y[30:])
