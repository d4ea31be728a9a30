"""Few-shot prototype F1 and centroid-similarity Spearman against naive references."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import f1_score

from contrastkit.evaluate import centroid_similarity_spearman, class_centroids, few_shot_prototype_f1


def _data(seed=0, n_per=6, classes=4, d=5, noise=0.8):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d, generator=g, dtype=torch.float64)
    y = torch.arange(classes).repeat_interleave(n_per)
    return centers[y] + noise * torch.randn(len(y), d, generator=g, dtype=torch.float64), y


def test_prototype_f1_equals_a_naive_episode_loop():
    x, y = _data()
    got = few_shot_prototype_f1(x, y, shots=2, episodes=5, seed=3)
    rng = np.random.default_rng(3)
    u = (x / x.norm(dim=1, keepdim=True)).numpy()
    scores = []
    for _ in range(5):
        support = {c: rng.choice(np.flatnonzero(y.numpy() == c), size=2, replace=False) for c in range(4)}
        protos = np.stack([u[s].mean(0) for s in support.values()])
        query = [i for i in range(len(y)) if not any(i in s for s in support.values())]
        pred = [int(np.argmax([u[i] @ p for p in protos])) for i in query]
        scores.append(f1_score(y.numpy()[query], pred, average="macro", labels=list(range(4))))
    assert got == pytest.approx(float(np.mean(scores)), abs=1e-12)
    assert 0.0 <= got <= 1.0
    separable, ys = _data(noise=0.01)
    assert few_shot_prototype_f1(separable, ys, shots=1, episodes=3) == 1.0


def test_centroid_spearman_equals_scipy_on_the_centroids():
    x, y = _data(seed=1)
    ref = torch.rand(4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    classes, c = class_centroids(x, y)
    assert classes.tolist() == [0, 1, 2, 3]
    u = c / c.norm(dim=1, keepdim=True)
    iu = np.triu_indices(4, k=1)
    want = stats.spearmanr((u @ u.T).numpy()[iu], ref.numpy()[iu]).statistic
    assert centroid_similarity_spearman(x, y, ref) == pytest.approx(want, abs=1e-12)


def test_bad_input_is_named():
    x, y = _data(n_per=2)
    with pytest.raises(ValueError, match="^labels: class 0 has 2 rows; 2-shot needs at least 3"):
        few_shot_prototype_f1(x, y, shots=2)
    with pytest.raises(ValueError, match="^labels: expected"):
        few_shot_prototype_f1(x, y[:3], shots=1)
    with pytest.raises(ValueError, match="^shots: "):
        few_shot_prototype_f1(x, y, shots=0)
    with pytest.raises(ValueError, match="^reference: expected a \\(4, 4\\) matrix"):
        centroid_similarity_spearman(x, y, torch.eye(3))


def test_centroid_spearman_errors_name_its_own_arguments():
    x, y = _data(seed=1)
    for bad in (torch.full((4, 4), float("nan"), dtype=torch.float64), torch.ones(4, 4, dtype=torch.float64)):
        with pytest.raises(ValueError, match="reference"):
            centroid_similarity_spearman(x, y, bad)
    two = torch.arange(2).repeat_interleave(12)
    with pytest.raises(ValueError, match="labels"):  # 2 classes give 1 pair: no rank correlation
        centroid_similarity_spearman(x, two, torch.eye(2, dtype=torch.float64))


def test_labels_may_be_a_list_of_ints():
    x, y = _data()
    assert few_shot_prototype_f1(x, y.tolist(), shots=2, episodes=3) == few_shot_prototype_f1(x, y, shots=2, episodes=3)
    with pytest.raises(ValueError, match="labels.*integer"):
        few_shot_prototype_f1(x, ["a"] * len(y), shots=1)
