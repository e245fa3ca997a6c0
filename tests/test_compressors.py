import math

import numpy as np
import pytest

from gradcomp.compressors import BitCost, RandK, build, sample_subsets


@pytest.mark.parametrize("d,k", [(10, 2), (50, 3), (9, 9), (100, 40)])
def test_subsets_are_uniform_and_without_replacement(d, k):
    rng = np.random.default_rng(0)
    S = sample_subsets(rng, 20000, d, k)
    assert S.shape == (20000, k)
    assert all(len(set(row)) == k for row in S[:2000])
    assert S.min() >= 0 and S.max() < d
    freq = np.bincount(S.ravel(), minlength=d) / S.size
    # each coordinate has probability k/d of being kept: 6-sigma binomial bound
    p = 1.0 / d
    assert np.all(np.abs(freq - p) < 6 * math.sqrt(p * (1 - p) / S.size))


def test_randk_unbiased_with_exact_variance():
    d, k, M, n = 12, 3, 4, 40000
    rng = np.random.default_rng(1)
    v = rng.standard_normal((M, d))
    q = RandK(d, k, BitCost(64, False))
    draws = np.stack([q.compress(v, rng) for _ in range(n)])  # (n, M, d)
    err = draws - v
    mean_err = err.mean(axis=0)
    # per-coordinate standard error of the mean: sqrt(Var/n), Var = (d/k - 1) v_j^2
    se = np.sqrt((d / k - 1) * v**2 / n)
    assert np.all(np.abs(mean_err) < 6 * se + 1e-12)
    mse = np.mean(np.sum(err**2, axis=2), axis=0)  # (M,)
    assert np.allclose(mse / np.sum(v**2, axis=1), q.omega, rtol=0.05)
    assert q.omega == d / k - 1


def test_randk_keeps_exactly_k_scaled_coordinates_shared_across_replicas():
    d, k = 30, 4
    rng = np.random.default_rng(2)
    v = rng.standard_normal((5, 3, d))  # 5 replicas, 3 clients
    out = RandK(d, k, BitCost(64, False)).compress(v, rng)
    nz = out != 0
    assert np.all(nz.sum(axis=-1) == k)
    assert np.all(nz == nz[0])  # common random numbers across replicas
    np.testing.assert_allclose(out[nz], (d / k) * v[nz])


def test_k_equal_d_is_identity():
    d = 7
    v = np.random.default_rng(3).standard_normal((2, d))
    np.testing.assert_array_equal(RandK(d, d, BitCost(64, False)).compress(v, np.random.default_rng(0)), v)


def test_bits_formula_and_k_resolution():
    assert RandK(112, 2, BitCost(64, False)).bits_per_client() == 128
    assert RandK(300, 6, BitCost(32, True)).bits_per_client() == 6 * 32 + 6 * 9
    cfg = {"name": "randk", "k": None, "k_fraction": 0.02, "bits_per_float": 64, "count_indices": False}
    assert build(cfg, 112).k == 2 and build(cfg, 300).k == 6 and build(cfg, 123).k == 2
    with pytest.raises(ValueError):
        build({**cfg, "k": 200}, 100)
