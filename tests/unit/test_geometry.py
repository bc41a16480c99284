"""Geometric features, pruning and correlations against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from kstarlab.errors import InputError
from kstarlab.geometry import (
    correlation_table,
    corruption_robustness,
    geometric_features,
    global_magnitude_prune,
    linear_head,
    poster_table,
    pruning_robustness,
    weight_sparsity,
)


def test_hand_built_two_dimensional_example():
    weight = np.array([[1.0, 0.0], [0.0, 1.0]])
    bias = np.zeros(2)
    x = np.array([[1.0, 1.0], [2.0, 1.0], [0.0, 3.0], [-1.0, 0.0]])
    y = np.array([0, 0, 0, 1])
    f = geometric_features(x, weight, bias, y)
    np.testing.assert_allclose(f.angle, [45.0, np.degrees(np.arctan(0.5)), 90.0, 90.0])
    np.testing.assert_allclose(f.angles_all[3], [180.0, 90.0])
    np.testing.assert_allclose(f.length, [np.sqrt(2), np.sqrt(5), 3.0, 1.0])
    # boundary x0 = x1 ; signed distance (x0 - x1)/sqrt(2) for class 0, (x1 - x0)/sqrt(2) for 1
    np.testing.assert_allclose(f.margin, np.array([0.0, 1.0, -3.0, 1.0]) / np.sqrt(2), atol=1e-15)


def test_bias_shifts_the_boundary():
    weight = np.array([[1.0, 0.0], [-1.0, 0.0]])
    bias = np.array([0.0, 1.0])  # boundary: 2 x0 - 1 = 0, i.e. x0 = 0.5
    f = geometric_features(np.array([[1.5, 7.0]]), weight, bias, np.array([0]))
    np.testing.assert_allclose(f.margin, [1.0])


def _brute_force_margin(x, weight, bias, label):
    """Distance to each pairwise hyperplane via its explicit foot point, signed by side."""
    best = np.inf
    for j in range(weight.shape[0]):
        if j == label:
            continue
        normal = weight[label] - weight[j]
        offset = bias[label] - bias[j]
        foot = x - normal * (normal @ x + offset) / (normal @ normal)
        assert abs(normal @ foot + offset) < 1e-9 * (1 + np.abs(normal) @ np.abs(x))
        side = np.sign(normal @ x + offset)
        best = min(best, side * np.linalg.norm(x - foot))
    return best


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    d=st.integers(2, 8),
    c=st.integers(2, 6),
)
def test_random_linear_models_match_brute_force(seed, n, d, c):
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.normal(size=(n, d)), rng.normal(size=(c, d)), rng.normal(size=c)
    y = rng.integers(0, c, n)
    f = geometric_features(x, weight, bias, y)
    expected = [_brute_force_margin(x[i], weight, bias, y[i]) for i in range(n)]
    np.testing.assert_allclose(f.margin, expected, rtol=1e-9, atol=1e-12)
    cosines = np.einsum("nd,nd->n", x, weight[y]) / (
        np.linalg.norm(x, axis=1) * np.linalg.norm(weight[y], axis=1)
    )
    np.testing.assert_allclose(f.angle, np.degrees(np.arccos(cosines)), atol=1e-6)
    # margin < 0 exactly when another class scores strictly higher
    logits = x @ weight.T + bias
    wrong = logits.max(axis=1) > logits[np.arange(n), y]
    np.testing.assert_array_equal(f.margin < 0, wrong)
    # the margin is the distance to the nearest point that changes the decision
    for i in np.flatnonzero(~wrong & (f.margin > 1e-6))[:3]:
        j = int(
            np.argmin(
                [
                    np.inf
                    if k == y[i]
                    else (logits[i, y[i]] - logits[i, k]) / np.linalg.norm(weight[y[i]] - weight[k])
                    for k in range(c)
                ]
            )
        )
        direction = -(weight[y[i]] - weight[j])
        direction /= np.linalg.norm(direction)
        inside = x[i] + 0.999 * f.margin[i] * direction
        outside = x[i] + 1.001 * f.margin[i] * direction
        assert (inside @ weight.T + bias).argmax() == y[i]
        assert (outside @ weight.T + bias).argmax() != y[i]


def test_features_do_not_depend_on_sample_order():
    rng = np.random.default_rng(3)
    x, weight, bias = rng.normal(size=(50, 6)), rng.normal(size=(4, 6)), rng.normal(size=4)
    y = rng.integers(0, 4, 50)
    perm = rng.permutation(50)
    a = geometric_features(x, weight, bias, y)
    b = geometric_features(x[perm], weight, bias, y[perm])
    for name in ("angle", "length", "margin", "angles_all"):
        np.testing.assert_allclose(getattr(a, name)[perm], getattr(b, name), rtol=1e-12)


def test_linear_head_finds_last_linear_and_refuses_other_layers():
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 5), nn.ReLU(), nn.Linear(5, 3))
    name, w, b = linear_head(model)
    assert name == "3" and w.shape == (3, 5) and b.shape == (3,)
    with pytest.raises(InputError, match=r"last layer '1' .* ReLU"):
        linear_head(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))


def test_mismatched_feature_size_names_the_layer():
    with pytest.raises(InputError, match=r"layer 'avgpool' have 5 dimensions.*'fc' expects 4"):
        geometric_features(
            np.ones((2, 5)),
            np.ones((3, 4)),
            np.zeros(3),
            np.array([0, 1]),
            layer="avgpool",
            head="fc",
        )


def _small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 16),
        nn.ReLU(),
        nn.Linear(16, 4),
    )


def test_sparsity_zero_leaves_predictions_unchanged():
    model = _small_cnn().eval()
    images = torch.rand(20, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    pruned = global_magnitude_prune(model, 0.0)
    with torch.no_grad():
        assert torch.equal(model(images), pruned(images))


@pytest.mark.parametrize("sparsity", [0.1, 0.37, 0.5, 0.9])
def test_achieved_global_sparsity_matches_request(sparsity):
    model = _small_cnn()
    pruned = global_magnitude_prune(model, sparsity)
    layers = [m for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    total = sum(m.weight.numel() for m in layers)
    zeros = sum(int((m.weight == 0).sum()) for m in layers)
    assert abs(zeros - sparsity * total) <= len(layers)
    assert weight_sparsity(pruned) == pytest.approx(zeros / total)
    assert weight_sparsity(model) == 0.0  # the original is untouched
    # global threshold: every surviving weight is at least as large as every pruned one
    kept = torch.cat([m.weight[m.weight != 0].abs() for m in layers])
    orig = torch.cat(
        [
            m.weight.detach().flatten().abs()
            for m in model.modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        ]
    )
    assert kept.min() >= torch.sort(orig).values[zeros - 1]


def test_pruning_and_corruption_robustness_per_sample():
    y = np.array([0, 1, 2, 0])
    dense = np.array([0, 1, 1, 0])
    pruned = np.array([[0, 1, 1, 0], [0, 2, 1, 0], [1, 2, 2, 0]])
    table = pruning_robustness(dense, pruned, y, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(table["prune_correct_fraction"], [2 / 3, 1 / 3, 1 / 3, 1.0])
    np.testing.assert_allclose(table["first_flip_sparsity"], [0.3, 0.2, 0.3, np.nan])
    np.testing.assert_allclose(corruption_robustness(pruned, y), [2 / 3, 1 / 3, 1 / 3, 1.0])
    with pytest.raises(InputError, match="at least one corruption"):
        corruption_robustness(np.empty((0, 4)), y)


def test_correlations_against_numpy_and_scipy():
    rng = np.random.default_rng(7)
    angle = rng.normal(size=200)
    feats = {
        "angle": angle,
        "length": rng.normal(size=200),
        "margin": -angle + rng.normal(size=200),
    }
    robust = {"corruption": -angle + 0.5 * rng.normal(size=200)}
    table = correlation_table("m", feats, robust)
    assert list(table.columns) == [
        "model",
        "robustness",
        "feature",
        "pearson_r",
        "pearson_p",
        "spearman_r",
        "n",
    ]
    row = table.set_index("feature").loc["angle"]
    assert row["pearson_r"] == pytest.approx(np.corrcoef(angle, robust["corruption"])[0, 1])
    ranks = [np.argsort(np.argsort(v)) for v in (angle, robust["corruption"])]
    assert row["spearman_r"] == pytest.approx(np.corrcoef(*ranks)[0, 1])
    assert row["pearson_p"] < 1e-10 and row["n"] == 200
    poster = poster_table(table, "corruption")
    assert list(poster.columns) == ["rc-angle", "rc-l2", "rc-margin"]
    assert poster.loc["m", "rc-angle"] < 0 < poster.loc["m", "rc-margin"]


@pytest.mark.parametrize(("n", "weight"), [(200, 1.0), (20, 0.3)])
def test_correlations_equal_scipy(n, weight):
    import scipy.stats

    rng = np.random.default_rng(11)
    feats = {k: rng.normal(size=n) for k in ("angle", "length", "margin")}
    robust = {
        "corruption": weight * feats["margin"] + rng.normal(size=n),
        "pruning": rng.permutation(n) / n,
    }
    table = correlation_table("m", feats, robust).set_index(["robustness", "feature"])
    for measure, r_vals in robust.items():
        for feature, f_vals in feats.items():
            row = table.loc[(measure, feature)]
            pearson = scipy.stats.pearsonr(f_vals, r_vals)
            assert row["pearson_r"] == pytest.approx(pearson.statistic, rel=1e-12, abs=1e-15)
            assert row["pearson_p"] == pytest.approx(pearson.pvalue, rel=1e-12)
            spearman = scipy.stats.spearmanr(f_vals, r_vals).statistic
            assert row["spearman_r"] == pytest.approx(spearman, rel=1e-12, abs=1e-15)
            assert row["n"] == n
    row = table.loc[("corruption", "margin")]
    r = np.corrcoef(feats["margin"], robust["corruption"])[0, 1]
    t = r * np.sqrt((n - 2) / (1 - r**2))  # the two-sided t-test of r = 0, by hand
    assert row["pearson_p"] == pytest.approx(2 * scipy.stats.t.sf(abs(t), n - 2), rel=1e-6)
    if n == 20:  # weakly correlated: a moderate p-value, not a tiny one
        assert 0.05 < row["pearson_p"] < 0.5


def test_correlations_skip_non_finite_samples():
    feats = {k: np.array([1.0, 2.0, np.nan, 4.0, 5.0]) for k in ("angle", "length", "margin")}
    table = correlation_table("m", feats, {"r": np.array([2.0, 4.0, 1.0, 8.0, 10.0])})
    assert (table["n"] == 4).all() and np.allclose(table["pearson_r"], 1.0)


# --------------------------------------------------------------------------- embeddings

from kstarlab.geometry.embedding import (  # noqa: E402
    classical_mds,
    embed_entities,
    embedding_vectors,
    minimum_spanning_tree,
    similarity_order,
)


def _entities(n_entities, n_samples=40, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(3, n_samples))
    return {
        f"e{i}": {
            "angle": base[0] + 0.1 * i * rng.normal(size=n_samples),
            "length": base[1] + 0.1 * i,
            "margin": base[2] * (1 + 0.05 * i),
        }
        for i in range(n_entities)
    }


def test_embedding_vectors_standardise_with_pooled_statistics():
    ents = _entities(3)
    names, vec = embedding_vectors(ents)
    assert names == ["e0", "e1", "e2"] and vec.shape == (3, 120)
    for block in range(3):
        part = vec[:, block * 40 : (block + 1) * 40]
        assert part.mean() == pytest.approx(0, abs=1e-12) and part.std() == pytest.approx(1)
    with pytest.raises(InputError, match="different sample sets"):
        embedding_vectors(
            {
                "a": {k: np.ones(3) for k in ("angle", "length", "margin")},
                "b": {k: np.ones(4) for k in ("angle", "length", "margin")},
            }
        )


def test_classical_mds_recovers_planar_configuration():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(6, 2))
    dist = np.linalg.norm(points[:, None] - points[None], axis=2)
    coords = classical_mds(dist)
    np.testing.assert_allclose(
        np.linalg.norm(coords[:, None] - coords[None], axis=2), dist, atol=1e-9
    )


def test_minimum_spanning_tree_against_brute_force():
    import itertools

    rng = np.random.default_rng(2)
    pts = rng.normal(size=(6, 3))
    dist = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    edges = minimum_spanning_tree(dist)
    assert len(edges) == 5
    best = np.inf
    all_edges = list(itertools.combinations(range(6), 2))
    for subset in itertools.combinations(all_edges, 5):  # every spanning tree candidate
        parent = list(range(6))

        def find(a, parent=parent):
            while parent[a] != a:
                a = parent[a]
            return a

        ok = True
        for a, b in subset:
            ra, rb = find(a), find(b)
            if ra == rb:
                ok = False
                break
            parent[ra] = rb
        if ok:
            best = min(best, sum(dist[a, b] for a, b in subset))
    assert sum(w for _, _, w in edges) == pytest.approx(best)


def test_identical_entities_stay_connected_and_similar_ones_cluster():
    dist = np.array([[0, 0, 5, 5], [0, 0, 5, 5], [5, 5, 0, 1], [5, 5, 1, 0]], dtype=float)
    assert len(minimum_spanning_tree(dist)) == 3
    order = list(similarity_order(dist))
    assert abs(order.index(0) - order.index(1)) == 1 and abs(order.index(2) - order.index(3)) == 1


@pytest.mark.parametrize("n", [3, 6])
def test_embed_entities_is_deterministic(n):
    a = embed_entities(_entities(n), seed=0)
    b = embed_entities(_entities(n), seed=0)
    np.testing.assert_array_equal(a["coords"].to_numpy(), b["coords"].to_numpy())
    assert len(a["tree"]) == n - 1
