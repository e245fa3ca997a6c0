"""The compressor library: seeded Monte Carlo against the stated constants, exact
structural properties, bit formulas, edge cases, namespace-generic code, and regression
cases for bugs found in other libraries (anchors note §5).

Confidence bounds: a Monte Carlo mean is accepted within Z = 5 standard errors (the
standard error estimated from the same draws); per test at most ~10^3 such comparisons,
so a correct compressor fails with probability < 10^-3 even before seeding makes every
run identical. Sizes are small (d <= 64, a few thousand draws, vectorised).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcomp.compressors import (
    CQ, IQ, ISCC, NAMES, SparseDithering, SphericalCompression, BitCost, Drive, Identity, Induced, InputError, NaturalCompression,
    NaturalDithering, PermK, PermKCQ, RandK, ScaledRandK, ScaledSign, StandardDithering,
    TernGrad, TopK, UnbiasedSparseDithering, build,
)
from gradcomp.compressors.rotation import fwht

from strict_xp import HostArrayError, StrictArray, to_strict

Z = 5.0
C32 = BitCost(32, False)


def rng(seed=0):
    return np.random.default_rng(seed)


def sample_vector(d, seed=0):
    """Mixed scales and signs, one exact zero: exercises every branch of the roundings."""
    r = rng(seed)
    x = r.standard_normal(d) * np.exp(r.uniform(-3, 1, d))
    x[d // 2] = 0.0
    return x


def draws(q, x, N, seed=1):
    """N independent draws of an independent (per-client) compressor at x: the draws sit on
    the client axis, so one call gives all of them. Shape (N, d)."""
    return q.compress(np.tile(x, (N, 1)), rng(seed))


def assert_mean(samples, target, what):
    """|mean - target| <= Z standard errors, coordinatewise."""
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    bad = np.abs(mean - target) > Z * se + 1e-12 * (1 + np.abs(target))
    assert not bad.any(), f"{what}: biased at {np.flatnonzero(bad)}: mean {mean[bad]} vs {target[bad]} (se {se[bad]})"


def mean_and_se(values):
    return values.mean(), values.std(ddof=1) / math.sqrt(values.size)


# --- unbiased compressors: E C(x) = x and E||C(x) - x||^2 <= omega ||x||^2 -------------------

D = 24


UNBIASED = [
    StandardDithering(D, 1, "l2", C32),
    StandardDithering(D, 4, "l2", C32),
    StandardDithering(D, 3, "linf", C32),
    TernGrad(D, C32),
    NaturalCompression(D, 8, C32),
    NaturalDithering(D, 2, "l2", C32),
    NaturalDithering(D, 5, "linf", C32),
    IQ(D, C32),
    Drive(16, "uniform", C32),
    Induced(TopK(D, 4, C32), RandK(D, 3, C32)),
    Induced(ScaledSign(D, C32), StandardDithering(D, 2, "l2", C32)),
    RandK(D, 5, C32),
    UnbiasedSparseDithering(D, 0.25, C32),
]


@pytest.mark.parametrize("q", UNBIASED, ids=lambda q: q.name)
def test_unbiased_mean_and_variance_bound(q):
    x = sample_vector(q.d)
    N = 4000
    out = draws(q, x, N)
    assert_mean(out, x, q.name)
    nmse = np.sum((out - x) ** 2, axis=1) / np.sum(x**2)
    m, se = mean_and_se(nmse)
    assert m <= q.omega + Z * se, f"{q.name}: E||C(x)-x||^2/||x||^2 = {m:.4f} > omega = {q.omega}"
    assert q.kind == "unbiased"


@pytest.mark.parametrize("q", [q for q in UNBIASED if q.name.startswith(("QSGD", "TernGrad"))], ids=lambda q: q.name)
def test_dithering_variance_matches_its_two_point_law(q):
    x = sample_vector(q.d, seed=3)
    xn = np.linalg.norm(x) if q.p == 2 else np.abs(x).max()
    y = np.abs(x) / xn
    lo, hi = np.floor(q.s * y) / q.s, (np.floor(q.s * y) + 1) / q.s
    exact = xn**2 * np.sum((hi - y) * (y - lo))
    out = draws(q, x, 4000, seed=4)
    m, se = mean_and_se(np.sum((out - x) ** 2, axis=1))
    assert abs(m - exact) <= Z * se
    assert exact <= q.omega * np.sum(x**2)


def test_natural_compression_law_and_omega():
    q = NaturalCompression(8, 8, C32)
    x = np.array([3.0, -0.75, 1.0, 2.0**-30, -5.5, 0.0, 1.5, 7.999])
    out = draws(q, x, 6000, seed=5)
    # every output is +-(a power of two bracketing |x_j|), with x's sign
    a = np.abs(x)
    lo = np.where(a > 0, 2.0 ** np.floor(np.log2(np.where(a > 0, a, 1))), 0)
    assert np.all((np.abs(out) == lo) | (np.abs(out) == 2 * lo))
    assert np.all(np.sign(out) * np.sign(x) >= 0)
    np.testing.assert_array_equal(out[:, [2, 5]], np.tile([1.0, 0.0], (6000, 1)))  # powers of 2 and 0 are exact
    assert_mean(out, x, "natural")
    # the worst case 1/8 is attained at |t| = (4/3) 2^a
    t = np.array([4.0 / 3.0])
    nm = np.mean((draws(NaturalCompression(1, 8, C32), t, 20000, seed=6)[:, 0] - t[0]) ** 2) / t[0] ** 2
    assert abs(nm - 1 / 8) < 0.01


def test_terngrad_omega_is_attained():
    d = 16
    t = 1.0 / (1.0 + math.sqrt(d))
    x = np.array([1.0] + [t] * (d - 1))
    q = TernGrad(d, C32)
    exact = np.abs(x).max() * np.abs(x).sum() - np.sum(x**2)  # ||x||_inf ||x||_1 - ||x||^2
    assert exact / np.sum(x**2) == pytest.approx(q.omega, rel=1e-12)
    out = draws(q, x, 8000, seed=7)
    m, se = mean_and_se(np.sum((out - x) ** 2, axis=1) / np.sum(x**2))
    assert abs(m - q.omega) <= Z * se


def test_iq_and_randk_variance_equalities():
    x = sample_vector(D, seed=8)
    for q, omega in ((IQ(D, C32), D - 1), (RandK(D, 6, C32), D / 6 - 1)):
        out = draws(q, x, 6000, seed=9)
        m, se = mean_and_se(np.sum((out - x) ** 2, axis=1) / np.sum(x**2))
        assert q.omega == omega
        assert abs(m - omega) <= Z * se, q.name


def test_induced_omega_and_bits():
    C, Q = TopK(40, 10, C32), RandK(40, 8, C32)
    ind = Induced(C, Q)
    assert ind.omega == pytest.approx((1 - 10 / 40) * (40 / 8 - 1))
    assert ind.bits_per_client() == 10 * 32 + 8 * 32


# --- contractive compressors ---------------------------------------------------------------


def test_topk_keeps_largest_magnitudes_and_contracts():
    r = rng(10)
    v = r.standard_normal((3, 5, 30))  # replicas x clients x d: rows differ, selection per row
    q = TopK(30, 7, C32)
    out = q.compress(v)
    for row_v, row_o in zip(v.reshape(-1, 30), out.reshape(-1, 30)):
        kept = np.flatnonzero(row_o)
        assert len(kept) == 7
        np.testing.assert_array_equal(row_o[kept], row_v[kept])
        assert np.abs(row_v[kept]).min() >= np.abs(np.delete(row_v, kept)).max()
    err = np.sum((out - v) ** 2, axis=-1)
    assert np.all(err <= (1 - q.delta) * np.sum(v**2, axis=-1) + 1e-12)


def test_scaled_randk_exact_contraction_and_same_draws_as_randk():
    d, k = 20, 5
    x = sample_vector(d, seed=11)
    q = ScaledRandK(d, k, C32)
    out = draws(q, x, 6000, seed=12)
    assert np.all((out == 0) | (out == x))
    assert np.all(np.count_nonzero(out[:, x != 0], axis=1) <= k)
    m, se = mean_and_se(np.sum((out - x) ** 2, axis=1) / np.sum(x**2))
    assert abs(m - (1 - q.delta)) <= Z * se
    v = rng(13).standard_normal((4, d))
    np.testing.assert_allclose(q.compress(v, rng(14)) * (d / k), RandK(d, k, C32).compress(v, rng(14)), rtol=1e-15)


def test_scaled_sign_exact_error():
    x = sample_vector(D, seed=15)
    q = ScaledSign(D, C32)
    out = q.compress(x[None])[0]
    np.testing.assert_allclose(out, np.abs(x).sum() / D * np.where(x < 0, -1, 1))
    err = np.sum((out - x) ** 2)
    assert err == pytest.approx(np.sum(x**2) - np.abs(x).sum() ** 2 / D)
    assert err <= (1 - q.delta) * np.sum(x**2)
    spike = np.zeros(D)
    spike[3] = -2.0  # delta = 1/d is attained at a 1-sparse vector
    e = np.sum((q.compress(spike[None])[0] - spike) ** 2)
    assert e == pytest.approx((1 - 1 / D) * 4.0)


# --- correlated: CQ, IQ, PermK, PermK + CQ --------------------------------------------------


def joint_draws(q, a, N, seed):
    """N independent joint draws over the n clients (a loop: the clients are coupled)."""
    r = rng(seed)
    return np.stack([q.compress(a, r) for _ in range(N)])  # (N, n, d)


@pytest.mark.parametrize("perm", ["uniform", "cyclic"])
def test_cq_individually_unbiased_on_heterogeneous_inputs(perm):
    n, d = 5, 12
    a = rng(20).standard_normal((n, d)) * np.array([[0.1], [1], [3], [0.5], [2]])
    out = joint_draws(CQ(d, n, perm, C32), a, 3000, seed=21)
    for i in range(n):
        assert_mean(out[:, i], a[i], f"CQ client {i}")


@pytest.mark.parametrize("perm", ["uniform", "cyclic"])
def test_cq_stratifies_identical_inputs(perm):
    """Shared permutation + per-client offsets: on identical inputs, the number of clients
    that send +R in coordinate j is floor(n y_j) or ceil(n y_j), every draw."""
    n, d = 8, 16
    x = sample_vector(d, seed=22)
    R = np.linalg.norm(x)
    y = (x + R) / (2 * R)
    out = joint_draws(CQ(d, n, perm, C32), np.tile(x, (n, 1)), 500, seed=23)
    ups = np.sum(out > 0, axis=1)  # (N, d)
    assert np.all((ups == np.floor(n * y)) | (ups == np.ceil(n * y)))


def test_cq_error_n_times_smaller_than_iq_on_identical_inputs():
    n, d = 8, 32
    x = sample_vector(d, seed=24)
    a = np.tile(x, (n, 1))
    R2 = np.sum(x**2)
    y = (x + math.sqrt(R2)) / (2 * math.sqrt(R2))
    f = n * y - np.floor(n * y)
    exact_cq = np.sum(4 * R2 * f * (1 - f)) / n**2  # spec §1.3, derived
    exact_iq = (d - 1) * R2 / n
    N = 3000
    err_cq = np.sum((joint_draws(CQ(d, n, "uniform", C32), a, N, 25).mean(axis=1) - x) ** 2, axis=1)
    err_iq = np.sum((joint_draws(IQ(d, C32), a, N, 26).mean(axis=1) - x) ** 2, axis=1)
    for err, exact in ((err_cq, exact_cq), (err_iq, exact_iq)):
        m, se = mean_and_se(err)
        assert abs(m - exact) <= Z * se
    cq = CQ(d, n, "uniform", C32)
    assert exact_cq <= cq.A_homogeneous * R2
    assert exact_iq / exact_cq >= n / 2  # n-fold gain (bounds: A_IQ / A_CQ = n)
    # the paper's constants are a factor 4 below the true ones for the range [-||x||, ||x||]
    assert exact_iq > IQ.A_paper(d, n) * R2


def assert_ab(q, a, N, seed, equality):
    n = a.shape[0]
    abar = a.mean(axis=0)
    out = joint_draws(q, a, N, seed)
    err = np.sum((out.mean(axis=1) - abar) ** 2, axis=1)
    m, se = mean_and_se(err)
    rhs = q.A * np.mean(np.sum(a**2, axis=1)) - q.B * np.sum(abar**2)
    if equality:
        assert abs(m - rhs) <= Z * se + 1e-12, f"{q.name}: MSE {m} vs A-B bound {rhs}"
    else:
        assert m <= rhs + Z * se, f"{q.name}: MSE {m} > A-B bound {rhs}"
    return out


@pytest.mark.parametrize("n,d,equality", [(4, 12, True), (4, 10, True), (6, 3, True), (7, 3, False), (1, 5, True)])
def test_permk_ab_inequality_and_individual_unbiasedness(n, d, equality):
    a = rng(30).standard_normal((n, d)) + 0.5
    q = PermK(d, n, C32)
    out = assert_ab(q, a, 3000, 31, equality)
    for i in range(n):
        assert_mean(out[:, i], a[i], f"PermK client {i}")


@pytest.mark.parametrize("n,d", [(4, 12), (4, 10), (6, 3), (7, 3), (5, 5), (3, 1)])
def test_permk_messages_average_to_the_exact_mean_on_identical_inputs(n, d):
    x = sample_vector(d, seed=32) if d > 1 else np.array([1.7])
    q = PermK(d, n, C32)
    r = rng(33)
    for _ in range(50):
        out = q.compress(np.tile(x, (n, 1)), r)
        np.testing.assert_allclose(out.mean(axis=0), x, rtol=1e-13, atol=1e-15)
        if d >= n:  # supports partition the coordinates
            assert np.all(np.count_nonzero(out, axis=0)[x != 0] == 1)


def test_permk_cq_structure_unbiasedness_and_homogeneous_bound():
    n, d, b = 8, 12, 4
    q = PermKCQ(d, n, b, "uniform", C32)
    a = rng(40).standard_normal((n, d))
    out = joint_draws(q, a, 3000, 41)
    sent = out != 0
    assert np.all(sent.sum(axis=2) <= d // b) and np.all(sent.sum(axis=1) <= n // b)
    for i in range(n):
        assert_mean(out[:, i], a[i], f"PermK+CQ client {i}")
    x = sample_vector(d, seed=42)
    hom = joint_draws(q, np.tile(x, (n, 1)), 3000, 43)
    m, se = mean_and_se(np.sum((hom.mean(axis=1) - x) ** 2, axis=1))
    assert m <= q.A_homogeneous * np.sum(x**2) + Z * se
    assert q.bits_per_client() == d // b + 32


def test_permk_cq_with_one_block_is_cq():
    n, d = 6, 10
    a = rng(44).standard_normal((2, n, d))  # with a replica axis
    np.testing.assert_array_equal(
        PermKCQ(d, n, 1, "uniform", C32).compress(a, rng(45)), CQ(d, n, "uniform", C32).compress(a, rng(45))
    )
    with pytest.raises(ValueError, match="dividing"):
        PermKCQ(10, 6, 4, "uniform", C32)


def test_iscc_weighted_ab_equality_and_unbiased_mean():
    n, d = 4, 10
    q = np.array([0.1, 0.2, 0.3, 0.4])
    a = rng(46).standard_normal((n, d)) * np.array([[0.5], [1], [2], [3]])
    iscc = ISCC(RandK(d, 4, C32), n, q)
    abar = a.mean(axis=0)
    out = joint_draws(iscc, a, 6000, 47)
    est = out.mean(axis=1)
    assert_mean(est, abar, "ISCC mean")
    assert np.all(np.count_nonzero(np.any(out != 0, axis=2), axis=1) == 1)  # one client sends
    m, se = mean_and_se(np.sum((est - abar) ** 2, axis=1))
    rhs = iscc.A * np.sum(np.sum(a**2, axis=1) / (n**2 * q)) - iscc.B * np.sum(abar**2)
    assert abs(m - rhs) <= Z * se  # cq Lemma 4, equality for Rand-k
    assert iscc.A == d / 4 and iscc.bits_per_client() == 4 * 32 / n
    assert not iscc.individually_unbiased
    assert ISCC(Drive(16, "hadamard", C32), n).A_paper == pytest.approx(math.pi / 2)


# --- paper oc: Sparse Dithering and Spherical Compression are tested in test_oc_compressors ----


# --- DRIVE ---------------------------------------------------------------------------------


def test_fwht_is_the_normalised_sylvester_hadamard():
    from scipy.linalg import hadamard

    for D in (1, 2, 8, 32):
        np.testing.assert_allclose(fwht(np, np.eye(D)), hadamard(D) / math.sqrt(D), atol=1e-15)


@pytest.mark.parametrize("d,rotation", [(16, "hadamard"), (11, "hadamard"), (1, "hadamard"), (12, "uniform")])
def test_drive_identities_padding_and_bits(d, rotation):
    q = Drive(d, rotation, C32)
    x = sample_vector(d, seed=50) if d > 1 else np.array([-0.3])
    out = draws(q, x, 200, seed=51)
    # <x_hat, x> = ||x||^2 for every draw, and the error law stated in the docstring
    np.testing.assert_allclose(out @ x, np.sum(x**2), rtol=1e-10)
    D = 1 << (d - 1).bit_length() if rotation == "hadamard" else d
    assert q.D == D and q.bits_per_client() == D + 32
    assert np.all(np.sum((out - x) ** 2, axis=1) <= q.omega * np.sum(x**2) * (1 + 1e-12))


def test_drive_hadamard_is_only_approximately_unbiased():
    """Documented limitation: with the randomized Hadamard rotation a dominant coordinate
    fixes every sign, and the estimate is e_1-aligned whatever the draw (biased); the
    Haar rotation is unbiased (test_unbiased_mean_and_variance_bound)."""
    x = np.array([1.0, 0.5, -0.2, 0.1])
    out = draws(Drive(4, "hadamard", C32), x, 50, seed=58)
    np.testing.assert_allclose(out, np.tile([1.3, 0, 0, 0], (50, 1)), atol=1e-12)
    assert not Drive(4, "hadamard", C32).exactly_unbiased and Drive(4, "uniform", C32).exactly_unbiased


def test_drive_vnmse_near_pi_over_2_minus_1():
    d = 64
    x = rng(52).standard_normal(d)
    for rotation in ("uniform", "hadamard"):
        out = draws(Drive(d, rotation, C32), x, 1500, seed=53)
        m = np.mean(np.sum((out - x) ** 2, axis=1)) / np.sum(x**2)
        assert abs(m - (math.pi / 2 - 1)) < 0.1 * (math.pi / 2 - 1), (rotation, m)


# --- bits ----------------------------------------------------------------------------------


def test_bit_formulas():
    c64i = BitCost(64, True)
    assert StandardDithering(100, 3, "l2", C32).bits_per_client() == 100 * (1 + 2) + 32
    assert ISCC(IQ(100, C32), 4).bits_per_client() == 132 / 4
    assert StandardDithering(100, 4, "l2", C32).bits_per_client() == 100 * (1 + 3) + 32  # 5 levels: 3 bits
    assert TernGrad(100, C32).bits_per_client() == 2 * 100 + 32
    assert NaturalCompression(100, 8, C32).bits_per_client() == 9 * 100
    assert NaturalDithering(100, 7, "l2", C32).bits_per_client() == 100 * 4 + 32
    assert IQ(100, C32).bits_per_client() == CQ(100, 4, "uniform", C32).bits_per_client() == 132
    assert PermK(100, 4, C32).bits_per_client() == 25 * 32
    assert PermK(10, 4, C32).bits_per_client() == (3 + 3 + 2 + 2) * 32 / 4  # mean over clients
    assert PermK(3, 7, C32).bits_per_client() == 32
    assert PermKCQ(100, 8, 4, "uniform", C32).bits_per_client() == 25 + 32
    assert Drive(100, "hadamard", C32).bits_per_client() == 128 + 32
    assert TopK(300, 6, c64i).bits_per_client() == 6 * 64 + 6 * 9
    assert ScaledRandK(300, 6, C32).bits_per_client() == 6 * 32
    assert ScaledSign(100, C32).bits_per_client() == 132


# --- edge cases ----------------------------------------------------------------------------


def every_compressor(d, n):
    return [
        StandardDithering(d, 2, "l2", C32), StandardDithering(d, 2, "linf", C32), TernGrad(d, C32),
        NaturalCompression(d, 8, C32), NaturalDithering(d, 3, "l2", C32), IQ(d, C32),
        CQ(d, n, "uniform", C32), CQ(d, n, "cyclic", C32), PermK(d, n, C32),
        PermKCQ(d, n, 1, "uniform", C32), Drive(d, "hadamard", C32), Drive(d, "uniform", C32),
        TopK(d, 2, C32), ScaledRandK(d, 1, C32), ScaledSign(d, C32),
        Induced(TopK(d, 1, C32), NaturalDithering(d, 2, "l2", C32)), SparseDithering(d, 0.1, C32),
        UnbiasedSparseDithering(d, 0.25, C32), SphericalCompression(d, 0.6, C32),
        ISCC(StandardDithering(d, 2, "l2", C32), n, np.arange(1, n + 1)),
        RandK(d, 1, C32), Identity(d, C32),
    ]


@pytest.mark.parametrize("d", [1, 5, 8])
def test_zero_vector_and_small_d(d):
    n = 3
    for q in every_compressor(d, n):
        z = np.zeros((2, n, d))
        np.testing.assert_array_equal(q.compress(z, rng(60)), z, err_msg=q.name)
        v = rng(61).standard_normal((2, n, d))
        out = q.compress(v, rng(62))
        assert out.shape == v.shape and np.all(np.isfinite(out)), q.name


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_input_is_a_clear_error(bad):
    d, n = 6, 3
    for q in every_compressor(d, n)[:-2]:  # RandK and Identity predate this check
        v = np.ones((n, d))
        v[1, 2] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            q.compress(v, rng(63))
        assert issubclass(InputError, ValueError)


def test_k_at_least_d_is_the_identity():
    v = rng(64).standard_normal((3, 7))
    for q in (TopK(7, 7, C32), TopK(7, 50, C32), ScaledRandK(7, 9, C32)):
        np.testing.assert_array_equal(q.compress(v, rng(65)), v)
        assert q.k == 7 and q.delta == 1.0
    with pytest.raises(ValueError):
        TopK(7, 0, C32)


def test_wrong_shapes_and_client_counts_are_errors():
    with pytest.raises(ValueError, match=r"\(\.\.\., M, 5\)"):
        StandardDithering(5, 2, "l2", C32).compress(np.ones(5), rng())
    with pytest.raises(ValueError, match="n=4"):
        CQ(5, 4, "uniform", C32).compress(np.ones((3, 5)), rng())


# --- regressions for bugs in other libraries (anchors note §5) ------------------------------


def test_regression_natural_dithering_is_not_the_identity():
    """FL_PyTorch returned its input: outputs must take at most s + 1 magnitudes (times the
    norm) and vary between draws."""
    d, s = 20, 3
    x = sample_vector(d, seed=70)
    out = draws(NaturalDithering(d, s, "l2", C32), x, 500, seed=71)
    levels = np.unique(np.round(np.abs(out) / np.linalg.norm(x), 12))
    assert set(levels) <= {0.0, 0.25, 0.5, 1.0}
    assert np.any(out.std(axis=0) > 0) and not np.allclose(out, x)


def test_regression_topk_by_magnitude_not_signed_value():
    """fl-sim kept the k largest signed values."""
    v = np.array([[0.1, -5.0, 0.3, 2.0, -0.2]])
    np.testing.assert_array_equal(TopK(5, 2, C32).compress(v), [[0, -5.0, 0, 2.0, 0]])


def test_regression_randk_samples_without_replacement():
    """BytePS drew k indices with replacement (duplicates, fewer than k coordinates)."""
    d, k = 10, 8
    v = rng(72).uniform(1, 2, (5000, d))
    for out in (RandK(d, k, C32).compress(v, rng(73)), ScaledRandK(d, k, C32).compress(v, rng(73))):
        assert np.all(np.count_nonzero(out, axis=1) == k)


def test_regression_qsgd_is_unbiased_not_scaled_down():
    """FedML's QSGD scaled by 1/(omega + 1) by default (biased)."""
    x = np.full(16, 0.25)  # ||x|| = 1, y_j = 1/4: s = 2 rounds between 0 and 1/2
    out = draws(StandardDithering(16, 2, "l2", C32), x, 6000, seed=74)
    assert set(np.unique(out)) <= {0.0, 0.5}
    assert_mean(out, x, "QSGD")


# --- namespace-generic path and CuPy parity ----------------------------------------------------


@pytest.mark.parametrize("q", every_compressor(12, 4)[:-1], ids=lambda q: q.name)
def test_runs_on_a_strict_device_namespace(q):
    """Same seed, same draws: the stand-in device namespace (tests/strict_xp.py) gives the
    NumPy result exactly, so no NumPy-only call touches the data arrays."""
    v = rng(80).standard_normal((2, 4, 12))
    ref = q.compress(v, rng(81))
    out = q.compress(to_strict(v), rng(81))
    assert isinstance(out, StrictArray)
    np.testing.assert_array_equal(out.to_numpy(), ref)


def test_strict_namespace_catches_numpy_only_calls():
    """The stand-in must be able to fail: NumPy calls and host arrays on device data raise."""
    a = to_strict(np.ones((2, 3)))
    with pytest.raises(TypeError):
        np.sum(a)
    with pytest.raises(TypeError):
        np.asarray(a)
    with pytest.raises(HostArrayError):
        a * np.ones((2, 3))
    with pytest.raises(TypeError):
        np.ones((2, 3)) * a
    with pytest.raises(AttributeError):
        a.__array_namespace__().packbits(a)


def _cupy_or_skip():
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy parity: CuPy is not installed (pip install 'gradcomp[cuda]' on a GPU machine)")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no device")
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"CuPy parity: no usable CUDA GPU ({exc})")
    return cupy


@pytest.mark.parametrize("q", every_compressor(40, 5)[:-1], ids=lambda q: q.name)
def test_cupy_parity(q):  # pragma: no cover - needs a GPU
    cp = _cupy_or_skip()
    v = rng(90).standard_normal((3, 5, 40))
    ref = q.compress(v, rng(91))
    out = cp.asnumpy(q.compress(cp.asarray(v), rng(91)))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


# --- configuration --------------------------------------------------------------------------


def test_every_compressor_config_composes_and_builds():
    from gradcomp.config import ConfigError, composer

    with composer() as c:
        for name in NAMES:
            cfg = c([f"compressor={name}"])["compressor"]
            q = build(cfg, 64, n=4)
            assert q.kind in ("unbiased", "contractive", "correlated")
            assert q.bits_per_client() > 0
        ind = build(c(["compressor=induced", "compressor@compressor.unbiased=qsgd", "compressor.unbiased.s=4"])["compressor"], 64)
        assert ind.Q.name == "QSGD(s=4,l2)"
        for bad in (["compressor=qsgd", "compressor.kk=2"], ["compressor=qsgd", "compressor.norm=l3"],
                    ["compressor=induced", "compressor.unbiased.ss=1"], ["compressor=cq", "compressor.permutation=bogus"]):
            with pytest.raises(ConfigError):
                c(bad)
    with pytest.raises(ValueError, match="n=<number of clients>"):
        build({"name": "cq", "permutation": "uniform", "bits_per_float": 32, "count_indices": False}, 8)
