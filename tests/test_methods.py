import numpy as np
import pytest
from scipy.special import expit

from gradcomp import methods
from gradcomp.compressors import BitCost, RandK, sample_subsets
from gradcomp.problems.constants import compute_constants, newton
from gradcomp.seeding import stream

from conftest import make_problem, minibatch_sgd_reference, run_method

CFG = {
    "qsgd": dict(algorithm="dcgd", shifts="none", sampling="with_replacement", reshuffle="none", stepsize_rule="qsgd"),
    "q_rr": dict(algorithm="dcgd", shifts="none", sampling="rr", reshuffle="every_epoch", stepsize_rule="q_rr"),
    "diana": dict(algorithm="diana", alpha_scale=0.5, shifts="client", sampling="with_replacement",
                  reshuffle="none", stepsize_rule="diana"),
    "diana_rr": dict(algorithm="diana", alpha_scale=1.0, shifts="slot", sampling="rr", reshuffle="once",
                     stepsize_rule="diana_rr"),
    "diana_rr_1s": dict(algorithm="diana", alpha_scale=1.0, shifts="client", sampling="rr", reshuffle="once",
                        stepsize_rule="diana_rr"),
}


@pytest.fixture(scope="module")
def setup():
    prob = make_problem(N=200, d=10, M=4, seed=11, kappa=100.0)
    xs = newton(prob, 1e-13, 100)
    return prob, xs, compute_constants(prob, xs, 0.1)


def run(prob, xs, c, name, k, mult, epochs=5, seed=0, stop=None, coordinate_path=None, **over):
    comp = RandK(prob.d, k, BitCost(64, False))
    tr, theory = run_method(prob, xs, c, {**CFG[name], **over}, comp, mult, epochs=epochs, seed=seed, stop=stop,
                            dense=coordinate_path is False)
    return tr, theory["gamma"]


def reference_diana_rr(prob, xs, c, k, gamma, epochs, seed=0):
    """Algorithm 2 (shuffle once, one shift per slot) with explicit loops over clients."""
    A, y, M, d, n = prob.A.toarray(), prob.y, prob.M, prob.d, c.n_steps
    omega = d / k - 1
    alpha = 1 / (omega + 1)
    rng_s, rng_q = stream(seed, "sampling"), stream(seed, "compressor")
    x = stream(seed, "x0").standard_normal(d)
    # the same permutation draw as the vectorised sampler
    order = np.lexsort((rng_s.random(prob.N), prob.client_of_row))
    h = np.zeros((n, M, d))
    for _ in range(epochs):
        for j in range(n):
            S = sample_subsets(rng_q, M, d, k)
            ghat = np.zeros(d)
            for m in range(M):
                lo, nm, b = prob.offsets[m], prob.n_m[m], c.b_m[m]
                perm = order[lo:lo + nm]
                rows = perm[j * b:(j + 1) * b] if j < n - 1 else perm[j * b:]
                s = -y[rows] * expit(-y[rows] * (A[rows] @ x))
                g = (s[:, None] * A[rows]).mean(0) + 2 * prob.lam * x
                q = np.zeros(d)
                q[S[m]] = d / k * (g - h[j, m])[S[m]]
                ghat += (h[j, m] + q) / M
                h[j, m] += alpha * q
            x = x - gamma * ghat
    return x


def test_diana_rr_matches_loop_reference(setup):
    prob, xs, c = setup
    tr, g0 = run(prob, xs, c, "diana_rr", k=3, mult=[1.0], epochs=4)
    x_ref = reference_diana_rr(prob, xs, c, 3, g0, 4)
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x_ref - xs) ** 2), rel=1e-10)


def test_replicas_equal_independent_runs(setup):
    prob, xs, c = setup
    mult = [0.5, 1.0, 2.0]
    batched, _ = run(prob, xs, c, "diana_rr", k=2, mult=mult)
    for r, m in enumerate(mult):
        single, _ = run(prob, xs, c, "diana_rr", k=2, mult=[m])
        np.testing.assert_allclose(batched.f_gap[:, r], single.f_gap[:, 0], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(batched.dist_sq[:, r], single.dist_sq[:, 0], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("shifted,plain,same", [
    ("diana", "qsgd", {"stepsize_rule": "qsgd"}),
    ("diana_rr", "q_rr", {"stepsize_rule": "q_rr", "reshuffle": "once"}),
    ("diana_rr_1s", "q_rr", {"stepsize_rule": "q_rr", "reshuffle": "once"}),
])
def test_k_equal_d_makes_shifts_irrelevant(setup, shifted, plain, same):
    """With omega = 0 the DIANA update h + Q(g - h) is g: the uncompressed method."""
    prob, xs, c = setup
    a, _ = run(prob, xs, c, shifted, k=prob.d, mult=[0.3], **same)
    b, _ = run(prob, xs, c, plain, k=prob.d, mult=[0.3], **same)
    np.testing.assert_allclose(a.dist_sq, b.dist_sq, rtol=1e-10)
    assert a.dist_sq[-1, 0] < 0.9 * a.dist_sq[0, 0]  # and it does optimise


def test_qsgd_with_identity_is_minibatch_sgd(setup):
    prob, xs, c = setup
    tr, g0 = run(prob, xs, c, "qsgd", k=prob.d, mult=[1.0], epochs=1)
    x = minibatch_sgd_reference(prob, c.b_m, g0, int(tr.rounds[-1]),
                                lambda rows, x: prob.batch_grads(prob.batch(rows), x[None])[0].mean(0))
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-10)


def test_full_batch_diana_converges_linearly_at_theoretical_stepsize():
    prob = make_problem(N=120, d=8, M=4, seed=7, kappa=20.0)
    xs = newton(prob, 1e-13, 100)
    c = compute_constants(prob, xs, 1.0)  # b_m = n_m, one step per epoch: full local gradients
    tr, _ = run(prob, xs, c, "diana_rr_1s", k=2, mult=[1.0], epochs=800, stepsize_rule="diana", alpha_scale=0.5)
    d = tr.dist_sq[:, 0]
    assert d[-1] < 1e-18 * d[0]
    # linear: log ||x - x*||^2 falls at a steady rate (a straight line, not a plateau)
    ld = np.log(d[100:700])
    fit = np.polyfit(np.arange(len(ld)), ld, 1)
    assert fit[0] < -0.03
    assert np.max(np.abs(np.polyval(fit, np.arange(len(ld))) - ld)) < 3.0


def test_qrr_plateaus_higher_with_more_compression(setup):
    prob, xs, c = setup
    lo, _ = run(prob, xs, c, "q_rr", k=prob.d, mult=[1.0], epochs=300)
    hi, _ = run(prob, xs, c, "q_rr", k=2, mult=[1.0], epochs=300)
    assert np.mean(hi.f_gap[-50:, 0]) > 5 * np.mean(lo.f_gap[-50:, 0])


def test_diverged_replicas_are_frozen_and_marked(setup):
    prob, xs, c = setup
    tr, _ = run(prob, xs, c, "diana_rr", k=2, mult=[1.0, 1e6], epochs=5)
    assert tr.status.tolist() == [methods.ACTIVE, methods.DIVERGED]
    assert np.all(np.isfinite(tr.f_gap[:, 0]))
    assert np.isnan(tr.f_gap[tr.event[1]:, 1]).all()


def test_stop_tolerance_freezes_replica(setup):
    prob, xs, c = setup
    tr, _ = run(prob, xs, c, "q_rr", k=prob.d, mult=[1.0], epochs=2000, stop=1e-3)
    assert tr.status[0] == methods.STOPPED
    t = tr.event[0]
    assert tr.dist_sq[t, 0] < 1e-3 and tr.dist_sq[t - 1, 0] >= 1e-3


def test_rr_epochs_are_exactly_ten_rounds(setup):
    prob, xs, c = setup
    tr, _ = run(prob, xs, c, "q_rr", k=2, mult=[1.0], epochs=3)
    np.testing.assert_array_equal(tr.rounds, [0, 10, 20, 30])
    np.testing.assert_array_equal(tr.passes, [0, 1, 2, 3])
    np.testing.assert_array_equal(tr.bits, tr.rounds * 128)


@pytest.mark.parametrize("name", sorted(CFG))
def test_coordinate_path_equals_dense_compression(setup, name):
    """Rand-k's sparse update path and the dense compress() path are the same method."""
    prob, xs, c = setup
    sparse, _ = run(prob, xs, c, name, k=3, mult=[0.5, 1.0, 4.0], epochs=20, coordinate_path=True)
    dense, _ = run(prob, xs, c, name, k=3, mult=[0.5, 1.0, 4.0], epochs=20, coordinate_path=False)
    np.testing.assert_allclose(sparse.dist_sq, dense.dist_sq, rtol=1e-9)
    np.testing.assert_allclose(sparse.f_gap, dense.f_gap, rtol=1e-8, atol=1e-14)
