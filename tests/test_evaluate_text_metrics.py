"""Spearman against human scores, max-F1 against a brute-force threshold sweep, and corpus retrieval
through faiss (flat and IVF) against brute force and a naive per-query loop."""

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from contrastkit import evaluate as ev


def _ranks(x):
    """Average ranks (ties share the mean rank), by a loop."""
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for m in range(i, j + 1):
            r[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return np.array(r)


def _spearman(a, b):
    return float(np.corrcoef(_ranks(list(a)), _ranks(list(b)))[0, 1])


def test_sts_spearman_matches_rank_correlation_by_hand():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40, 8, generator=g), torch.randn(40, 8, generator=g)
    gold = np.round(np.random.default_rng(0).uniform(0, 5, 40), 0)  # with ties
    cos = [float(torch.nn.functional.cosine_similarity(a[i], b[i], dim=0)) for i in range(40)]
    assert ev.sts_spearman(a, b, gold) == pytest.approx(_spearman(cos, gold), abs=1e-12)
    assert ev.sts_spearman(a, a * 3.0, np.arange(40)) != ev.sts_spearman(a, b, np.arange(40))
    assert ev.sts_spearman(a.half(), b.half(), gold) == pytest.approx(ev.sts_spearman(a, b, gold), abs=0.05)


def test_similarity_matrix_spearman_reads_the_upper_triangle():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(12, 5, generator=g)
    human = np.random.default_rng(1).uniform(size=(12, 12))
    pairs = [(i, j) for i in range(12) for j in range(i + 1, 12)]
    cos = [float(torch.nn.functional.cosine_similarity(x[i], x[j], dim=0)) for i, j in pairs]
    want = _spearman(cos, [human[i, j] for i, j in pairs])
    assert ev.similarity_matrix_spearman(x, human) == pytest.approx(want, abs=1e-12)
    human_lower_changed = human.copy()
    human_lower_changed[np.tril_indices(12, -1)] = 0
    assert ev.similarity_matrix_spearman(x, human_lower_changed) == pytest.approx(want, abs=1e-12)


def test_spearman_errors_are_clear():
    x = torch.ones(10, 4)
    with pytest.raises(ValueError, match="collapsed embeddings"):
        ev.sts_spearman(x, x, np.arange(10))
    with pytest.raises(ValueError, match="gold: expected 10 values"):
        ev.sts_spearman(torch.randn(10, 4), torch.randn(10, 4), np.arange(9))
    with pytest.raises(ValueError, match="gold: all gold scores are equal"):
        ev.sts_spearman(torch.randn(10, 4), torch.randn(10, 4), np.ones(10))
    with pytest.raises(ValueError, match=r"human: expected an \(10, 10\) matrix"):
        ev.similarity_matrix_spearman(torch.randn(10, 4), np.ones((9, 9)))


def _brute_max_f1(scores, labels):
    best = 0.0
    for t in np.unique(np.r_[scores, np.inf]):
        best = max(best, f1_score(labels, (scores >= t).astype(int), zero_division=0))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_max_f1_equals_a_brute_force_threshold_sweep(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    labels[0] = 1
    scores = np.round(rng.normal(size=60) + labels * rng.uniform(0, 2), 1)  # rounding makes ties
    out = ev.max_f1(scores, labels, return_threshold=True)
    assert out["f1"] == pytest.approx(_brute_max_f1(scores, labels), abs=1e-12)
    pred = scores >= out["threshold"]
    assert f1_score(labels, pred) == pytest.approx(out["f1"], abs=1e-12)
    assert out["precision"] == pytest.approx(labels[pred].mean()) and out["recall"] == pytest.approx(
        pred[labels == 1].mean())
    assert ev.max_f1(torch.tensor(scores), torch.tensor(labels).bool()) == pytest.approx(out["f1"])


def test_max_f1_errors():
    with pytest.raises(ValueError, match="labels: no positive pair"):
        ev.max_f1([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="labels: expected 0/1"):
        ev.max_f1([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="labels: expected a 1-D vector of 2 values"):
        ev.max_f1([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ValueError, match="scores: contains NaN"):
        ev.max_f1([float("nan"), 0.2], [0, 1])


def _naive_metrics(q, c, rel_sets, ks, depth, exclude=None):
    """Per-query python loop: sort by (-cosine, relevant last), then P@k, R@k, MRR@depth."""
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    out = {f"P@{k}": [] for k in ks} | {f"R@{k}": [] for k in ks} | {"MRR": []}
    for i in range(len(q)):
        cand = [j for j in range(len(c)) if exclude is None or j != exclude[i]]
        rel = rel_sets[i] - ({exclude[i]} if exclude is not None else set())
        sims = (qn[i:i + 1] @ cn.T)[0]  # float32, as both backends
        ranked = sorted(cand, key=lambda j, s=sims, r=rel: (-s[j], j in r))
        for k in ks:
            h = sum(j in rel for j in ranked[:k])
            out[f"P@{k}"].append(h / k)
            out[f"R@{k}"].append(h / len(rel))
        first = next((r + 1 for r, j in enumerate(ranked[:depth]) if j in rel), None)
        out["MRR"].append(0.0 if first is None else 1.0 / first)
    return {k: float(np.mean(v)) for k, v in out.items()}


def _clustered(n_corpus, n_query, d=16, n_class=8, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_class, d)).astype(np.float32)
    yc = rng.integers(0, n_class, n_corpus)
    yq = rng.integers(0, n_class, n_query)
    c = (centers[yc] + rng.normal(scale=1.0, size=(n_corpus, d))).astype(np.float32)
    q = (centers[yq] + rng.normal(scale=1.0, size=(n_query, d))).astype(np.float32)
    return q, c, yq, yc


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_corpus_retrieval_equals_a_naive_loop(backend):
    q, c, yq, yc = _clustered(300, 40)
    rel = yq[:, None] == yc[None, :]
    sets = [set(np.flatnonzero(r).tolist()) for r in rel]
    got = ev.corpus_retrieval_metrics(q, c, torch.from_numpy(rel), ks=(1, 5, 10), mrr_depth=20, backend=backend)
    assert got == pytest.approx(_naive_metrics(q, c, sets, (1, 5, 10), 20), abs=1e-12)
    as_lists = ev.corpus_retrieval_metrics(q, c, [sorted(s) for s in sets], ks=(1, 5, 10), mrr_depth=20,
                                           backend=backend)
    assert as_lists == got


def test_leave_one_out_and_single_relevant_index():
    _, c, _, yc = _clustered(120, 1, seed=3)
    rel = [set(np.flatnonzero(yc == yc[i]).tolist()) for i in range(120)]
    exclude = np.arange(120)
    got = ev.corpus_retrieval_metrics(c, c, [sorted(s) for s in rel], ks=(1, 3), exclude=exclude, mrr_depth=119)
    assert got == pytest.approx(_naive_metrics(c, c, rel, (1, 3), 119, exclude=exclude), abs=1e-12)
    one = np.random.default_rng(0).integers(0, 120, 30)
    got = ev.corpus_retrieval_metrics(c[one] + 0.01, c, torch.from_numpy(one), ks=(1,), backend="faiss")
    assert got == ev.corpus_retrieval_metrics(c[one] + 0.01, c, torch.from_numpy(one), ks=(1,), backend="torch")
    assert got["P@1"] == got["R@1"] == 1.0


def test_ties_are_pessimistic_on_both_backends():
    c = np.ones((20, 4), dtype=np.float32)  # collapsed corpus: every score ties
    q = np.ones((3, 4), dtype=np.float32)
    rel = torch.zeros(3, 20, dtype=torch.bool)
    rel[:, 0] = True
    for backend in ("faiss", "torch"):
        got = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 5), backend=backend)
        assert got["P@1"] == got["R@5"] == 0.0 and got["MRR"] == pytest.approx(1 / 20)


def test_near_float32_ties_give_brute_force_results():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(50, 8)).astype(np.float32)
    c = np.concatenate([base, base + rng.normal(scale=1e-7, size=base.shape).astype(np.float32)])
    q = base[:25] + rng.normal(scale=0.05, size=(25, 8)).astype(np.float32)
    rel = torch.zeros(25, 100, dtype=torch.bool)
    rel[torch.arange(25), torch.arange(25) + 50] = True  # the near-duplicate is the relevant one
    a = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 2), backend="faiss")
    b = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 2), backend="torch")
    assert a == b


def test_ivf_index_is_exact_when_every_list_is_probed_and_close_by_default():
    q, c, yq, yc = _clustered(3000, 60, d=32, seed=7)
    rel = torch.from_numpy(yq[:, None] == yc[None, :])
    exact = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 10), backend="torch")
    index = ev.build_index(c, ivf_threshold=1000, nlist=16, nprobe=16)
    assert index.nlist == 16 and index.ntotal == 3000
    s_ivf, i_ivf = ev.search(q, index, 10)
    s_np, i_np = ev.brute_force_top_k(q, c, 10)
    np.testing.assert_allclose(s_ivf, s_np, atol=1e-5)
    assert (i_ivf == i_np).mean() > 0.99  # identical up to float32 near-ties
    full = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 10), backend="faiss", ivf_threshold=1000, nlist=16,
                                       nprobe=16)
    assert full == pytest.approx(exact, abs=1e-12)
    approx = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 10), backend="faiss", ivf_threshold=1000)
    assert ev.build_index(c, ivf_threshold=1000).nprobe == 1  # nlist = round(sqrt(3000)) = 55, nprobe = 55 // 32
    assert all(abs(approx[k] - exact[k]) < 0.05 for k in exact)


def test_metrics_stay_exact_by_default_where_ivf_would_be_approximate():
    # uniform directions at the size from which build_index goes IVF: there the default probe misses
    # neighbours, and the metrics' default must still equal brute force
    g = torch.Generator().manual_seed(3)
    c = torch.randn(ev.corpus_retrieval.IVF_THRESHOLD, 16, generator=g)
    q = torch.randn(100, 16, generator=g)
    _, i_np = ev.brute_force_top_k(q, c, 10)
    rel = torch.from_numpy(i_np[:, 0].astype(np.int64))  # each query's true nearest row is its relevant one
    exact = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 10), backend="torch")
    assert exact["P@1"] == 1.0
    assert ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 10), backend="faiss") == pytest.approx(exact, abs=1e-12)
    _, i_ivf = ev.search(q, ev.build_index(c), 10)  # the search index does go IVF here, and is approximate
    assert (i_ivf == i_np).mean() < 0.9


def test_retrieval_bad_input_is_one_clear_error():
    q, c, _, _ = _clustered(10, 3)
    with pytest.raises(ValueError, match="ks: k = 11 is larger than the corpus"):
        ev.corpus_retrieval_metrics(q, c, np.array([0, 1, 2]), ks=(1, 11))
    with pytest.raises(ValueError, match="ks: k = 10 is larger than the corpus \\(9 candidate"):
        ev.corpus_retrieval_metrics(c, c, np.arange(10) * 0 + 1, ks=(10,), exclude=np.arange(10))
    with pytest.raises(ValueError, match="corpus_emb: empty batch"):
        ev.corpus_retrieval_metrics(q, np.zeros((0, 16), np.float32), np.array([0, 0, 0]))
    with pytest.raises(ValueError, match="relevant: every query needs at least one relevant"):
        ev.corpus_retrieval_metrics(q, c, [[1], [], [2]], ks=(1,))
    with pytest.raises(ValueError, match=r"relevant: corpus indices must lie in \[0, 10\)"):
        ev.corpus_retrieval_metrics(q, c, np.array([0, 1, 10]), ks=(1,))
    with pytest.raises(ValueError, match="relevant: every query needs"):
        ev.corpus_retrieval_metrics(c[:3], c, np.arange(3), ks=(1,), exclude=np.arange(3))
    with pytest.raises(ValueError, match="k: expected at most the corpus size 10"):
        ev.search(q, ev.build_index(c), 11)
    with pytest.raises(ValueError, match="backend"):
        ev.corpus_retrieval_metrics(q, c, np.array([0, 1, 2]), backend="annoy")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_are_upcast(dtype):
    q, c, yq, yc = _clustered(200, 20, seed=11)
    rel = torch.from_numpy(yq[:, None] == yc[None, :])
    full = ev.corpus_retrieval_metrics(q, c, rel, ks=(1, 5))
    half = ev.corpus_retrieval_metrics(torch.from_numpy(q).to(dtype), torch.from_numpy(c).to(dtype), rel, ks=(1, 5))
    assert all(abs(full[k] - half[k]) <= 0.1 for k in full)
    s = torch.linspace(-1, 1, 50)
    y = (s > 0.2).long()
    assert ev.max_f1(s.to(dtype), y) == 1.0
