"""The shift paper's methods and theorems (spec-shift-paper.md 5.6-5.7) on a small ridge problem."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_regression

from gradcomp.compressors import BitCost, Induced, RandK, TopK
from gradcomp.methods import RULES
from gradcomp.problems.ridge import RidgeRegression
from gradcomp.problems.rows import group_by_client
from gradcomp.seeding import stream

from conftest import run_method

COST = BitCost(32, True)
FULL = dict(sampling="full", reshuffle="none")


@pytest.fixture(scope="module")
def ridge():
    A, y = make_regression(n_samples=40, n_features=16, random_state=1)
    n = 4
    order = stream(0, "test/split").permutation(40)
    parts = [order[i * 10:(i + 1) * 10] for i in range(n)]
    A_c, y_c, offsets = group_by_client(A, y, parts)
    prob = RidgeRegression(A_c, y_c, offsets, lam=1.0 / 40, client_scale=n * np.diff(offsets).astype(float))
    xs = prob.solve({})
    return prob, xs, prob.constants(xs, {"batch_fraction": 1.0})


def test_ridge_is_the_papers_objective(ridge):
    """sum_m f_m / n = 1/2 ||Ax - y||^2 + lambda/2 ||x||^2, and x* solves its normal equations."""
    prob, xs, c = ridge
    A, y = prob.A.toarray(), prob.y
    x = stream(0, "test/x").standard_normal(prob.d)
    f = 0.5 * np.sum((A @ x - y) ** 2) + 0.5 * prob.lam * x @ x
    assert prob.loss(x) == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(prob.grad(x), A.T @ (A @ x - y) + prob.lam * x, rtol=1e-10)
    np.testing.assert_allclose(prob.client_grads(x).mean(axis=0), prob.grad(x), rtol=1e-10)
    assert np.linalg.norm(prob.grad(xs)) < 1e-8 * np.linalg.norm(A.T @ y)
    H = A.T @ A + prob.lam * np.eye(prob.d)
    ev = np.linalg.eigvalsh(H)
    assert (c.L, c.mu) == pytest.approx((ev[-1], ev[0]), rel=1e-10)
    A0 = A[:10]
    assert c.L_m[0] == pytest.approx(4 * np.linalg.eigvalsh(A0.T @ A0)[-1] + prob.lam, rel=1e-10)


def test_compressor_constants_of_the_paper():
    """Rand-K in U(d/K - 1), Top-K in B(K/d), the induced compressor in U(omega (1 - delta))."""
    d, K = 80, 24
    q, c = RandK(d, K, COST), TopK(d, 8, COST)
    assert q.omega == pytest.approx(d / K - 1)
    assert c.delta == pytest.approx(8 / d)
    ind = Induced(c, q)
    assert ind.omega == pytest.approx((d / K - 1) * (1 - 8 / d))
    assert ind.induced_parts() == pytest.approx((d / K - 1, 8 / d))


def test_theorem4_worked_choice(ridge):
    """p = 1/(omega+1), M = 4 omega/(n p) (b = 2): gamma = 1/((1 + 6 omega/n) L_max), and the
    shift contracts by 1 - p + 2 omega/(n M) = 1 - p/2."""
    prob, xs, c = ridge
    q = RandK(prob.d, 4, COST)
    mcfg = {**FULL, "algorithm": "rand_diana", "shifts": "client", "p": None, "coin": "per_client",
            "lyapunov_b": 2.0, "lyapunov_p": None, "count_refresh": True, "stepsize_rule": "shift_thm4"}
    _, theory = run_method(prob, xs, c, mcfg, q, [1.0], epochs=0)
    w, n, p = q.omega, prob.M, 1.0 / (q.omega + 1.0)
    assert theory["gamma"] == pytest.approx(1.0 / ((1.0 + 6.0 * w / n) * max(c.L_m)), rel=1e-12)
    M = 4.0 * w / (n * p)
    assert 1.0 - p + 2.0 * w / (n * M) == pytest.approx(1.0 - p / 2.0)


def _rel(tr):
    return tr.dist_sq[:, 0] / tr.dist_sq[0, 0]


def test_dcgd_star_converges_to_machine_precision(ridge):
    """Theorem 2: with h_m = grad f_m(x*) DCGD converges linearly to x* itself, at the stepsize (9)."""
    prob, xs, c = ridge
    mcfg = {**FULL, "algorithm": "dcgd", "shift": "x_star", "stepsize_rule": "shift_thm2"}
    tr, theory = run_method(prob, xs, c, mcfg, RandK(prob.d, 4, COST), [1.0], epochs=20000, record_every=50)
    rel = _rel(tr)
    assert rel[-1] < 1e-24
    rate = (1.0 - theory["gamma"] * c.mu) ** tr.rounds.astype(float)
    k = np.flatnonzero(rel < 1e-20)[0]
    assert np.all(rel[: k] <= 10.0 * rate[: k])     # below Theorem 2's (1 - gamma mu)^k, a single run


def test_dcgd_plateaus_under_bound_7_and_dcgd_fixed_with_the_optimal_shift_does_not(ridge):
    prob, xs, c = ridge
    q = RandK(prob.d, 4, COST)
    mcfg = {**FULL, "algorithm": "dcgd", "shift": "zero", "stepsize_rule": "shift_thm1"}
    tr, _ = run_method(prob, xs, c, mcfg, q, [1.0], epochs=20000, record_every=20)
    rel = _rel(tr)
    floor = tr.bound_floor[0]
    assert floor > 1e-8                                  # heterogeneous clients: grad f_m(x*) != 0
    tail = rel[len(rel) // 2:]
    assert np.mean(tail) <= floor                        # the expectation in bound (7)
    assert np.mean(tail) > 1e-3 * floor                  # a plateau, not convergence
    bound = tr.bound_rate[0] ** tr.rounds.astype(float) + floor
    assert np.mean(rel[5:] / bound[5:]) < 1.0


def test_gdci_stalls_under_bound_14(ridge):
    prob, xs, c = ridge
    mcfg = {**FULL, "algorithm": "gdci", "shifts": "none", "stepsize_rule": "shift_thm5"}
    tr, theory = run_method(prob, xs, c, mcfg, RandK(prob.d, 4, COST), {"gamma": [1.0], "eta": [1.0]},
                            epochs=20000, record_every=20)
    rel = _rel(tr)
    tail = rel[len(rel) // 2:]
    assert np.mean(tail) <= tr.bound_floor[0] and np.mean(tail) > 1e-12
    # without compression GDCI is gradient descent with stepsize gamma eta
    q = RandK(prob.d, prob.d, COST)
    tr0, th0 = run_method(prob, xs, c, mcfg, q, {"gamma": [1.0], "eta": [1.0]}, epochs=3)
    x = stream(0, "x0").standard_normal(prob.d)
    for _ in range(3):
        x = x - th0["gamma"] * th0["eta"] * prob.grad(x)
    assert tr0.dist_sq[-1, 0] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-9)


@pytest.mark.parametrize("method", ["diana", "rand_diana"])
def test_diana_and_rand_diana_reach_1e_19(ridge, method):
    prob, xs, c = ridge
    mcfg = {**FULL, "algorithm": method, "shifts": "client"}
    if method == "diana":
        mcfg.update(alpha_scale=1.0, lyapunov_b=2.0, stepsize_rule="shift_thm3")
    else:
        mcfg.update(p=None, coin="per_client", lyapunov_b=2.0, lyapunov_p=None, count_refresh=True, stepsize_rule="shift_thm4")
    tr, _ = run_method(prob, xs, c, mcfg, RandK(prob.d, 4, COST), [1.0], epochs=200000, record_every=20,
                       stop_rel=1e-19)
    assert tr.status[0] == 1 and _rel(tr)[tr.event[0]] <= 1e-19


def test_rand_diana_coins_and_bits(ridge):
    """Per-client coins refresh some clients each round, a shared coin all or none; each refresh
    costs d floats, the first round the initial shifts, every round Q's message."""
    prob, xs, c = ridge
    q = RandK(prob.d, 4, COST)
    base = {**FULL, "algorithm": "rand_diana", "shifts": "client", "lyapunov_b": 2.0, "lyapunov_p": None, "count_refresh": True,
            "stepsize_rule": "shift_thm4", "p": 0.5}
    bits = {}
    for coin in ("per_client", "shared"):
        tr, _ = run_method(prob, xs, c, {**base, "coin": coin}, q, [1.0], epochs=400)
        per_round = np.diff(tr.bits)
        dense = prob.d * 64.0     # run_method's bits_per_float
        extra = per_round - q.bits_per_client()
        extra[0] -= dense          # the first round also uploads h^0
        frac = extra / dense       # the fraction of clients that refreshed
        assert np.all(np.isin(np.round(frac * prob.M), np.arange(prob.M + 1)))
        bits[coin] = frac
    assert set(np.unique(bits["shared"])) <= {0.0, 1.0}
    assert len(np.unique(bits["per_client"])) > 2
    assert np.mean(bits["per_client"]) == pytest.approx(0.5, abs=0.05)


def test_shift_rules_are_declared_with_their_axes():
    assert RULES["shift_thm5"].axes == ("gamma", "eta")
    assert all(RULES[f"shift_thm{i}"].axes == ("gamma",) for i in range(1, 5))
    assert RULES["shift_thm3"].requires == ("lyapunov_b",)
