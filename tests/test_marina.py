"""Paper cq's problems and method: the tridiagonal quadratics (exact constants), MARINA and
GD, p*, the bit budget, and the plan-time refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gradcomp import compressors
from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.data import load_data
from gradcomp.methods import build as build_method
from gradcomp.methods import optimize
from gradcomp.pipeline.identity import run_config
from gradcomp.pipeline.select import select
from gradcomp.problems import PROBLEMS
from gradcomp.problems.quadratic import tridiagonal_eigenvalues
from gradcomp.seeding import stream
from gradcomp.theory.cq import marina_gamma, optimal_p


def _cfg(*overrides):
    return to_plain(compose(["problem=quadratic", "dataset=quadratic_worst_case", "method=marina",
                             "compressor=cq", "run.metrics=[grad_norm_sq]", "run.stop_dist_sq=null", *overrides]))


def _problem(cfg):
    A, y = load_data(cfg["dataset"], cfg["data"])
    prob, _ = PROBLEMS["quadratic"].from_config(cfg, A, y)
    x_star = prob.solve(cfg["problem"])
    return prob, x_star, prob.constants(x_star, cfg["problem"])


def _dense(prob):
    d = prob.d
    T = 2 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1)
    As = [a * T + c * np.eye(d) for a, c in zip(prob.a, prob.c)]
    bs = [np.eye(d)[0] * b for b in prob.beta]
    return As, bs


@pytest.mark.parametrize("gen,s", [("quadratic_worst_case", 0.3), ("quadratic_lipt_different", 2.0)])
def test_quadratic_constants_are_exact(gen, s):
    cfg = _cfg(f"dataset={gen}", "dataset.n_samples=5", "dataset.n_features=12", f"dataset.noise={s}")
    prob, x_star, c = _problem(cfg)
    As, bs = _dense(prob)
    Abar, n = sum(As) / len(As), len(As)
    sq = sum(A @ A for A in As) / n
    ev = np.linalg.eigvalsh
    L_i = np.array([np.abs(ev(A)).max() for A in As])
    w = L_i / L_i.sum()
    sq_w = sum(A @ A / (n * wi) for A, wi in zip(As, w)) / n
    assert c.L == pytest.approx(ev(Abar)[-1], rel=1e-12)
    assert c.mu == pytest.approx(ev(Abar)[0], rel=1e-9)
    assert c.L_plus == pytest.approx(np.sqrt(ev(sq)[-1]), rel=1e-12)
    assert c.L_pm == pytest.approx(np.sqrt(max(ev(sq - Abar @ Abar)[-1], 0)), rel=1e-9, abs=1e-12)
    assert c.L_plus_w == pytest.approx(np.sqrt(ev(sq_w)[-1]), rel=1e-12)
    # (zero for Algorithm 6, whose A_i are proportional: only rounding is left)
    assert c.L_pm_w == pytest.approx(np.sqrt(max(ev(sq_w - Abar @ Abar)[-1], 0)), rel=1e-9, abs=1e-6 * c.L_plus_w)
    assert c.L_A == pytest.approx(L_i.mean(), rel=1e-12) and c.L_plus_w <= c.L_A * (1 + 1e-12)
    np.testing.assert_allclose(c.L_m, L_i, rtol=1e-12)
    # gradients, loss and the solution against the dense matrices
    X = np.random.default_rng(0).standard_normal((3, prob.d))
    G = prob.batch_grads(prob.batch(np.arange(prob.N)), X)
    want = np.stack([[A @ x - b for A, b in zip(As, bs)] for x in X])
    np.testing.assert_allclose(G, want, rtol=1e-12, atol=1e-12)
    f = [np.mean([0.5 * x @ A @ x - b @ x for A, b in zip(As, bs)]) for x in X]
    np.testing.assert_allclose(prob.loss(X), f, rtol=1e-12)
    np.testing.assert_allclose(prob.grads(X), want.mean(axis=1), rtol=1e-12, atol=1e-12)
    assert np.linalg.norm(prob.grad(x_star)) < 1e-9 * max(1.0, np.linalg.norm(x_star))


def test_worst_case_generator_homogeneous_and_strongly_convex():
    prob, _, c = _problem(_cfg("dataset.noise=0.0", "dataset.n_features=64"))
    assert c.L_pm == pytest.approx(0.0, abs=1e-12)          # s = 0: identical clients
    assert c.mu == pytest.approx(1e-6, rel=1e-6)             # lambda, by the shift of Algorithm 5
    assert c.L_plus == pytest.approx(c.L, rel=1e-12)
    t = tridiagonal_eigenvalues(64)
    assert t.min() > 0 and t.max() < 4
    np.testing.assert_array_equal(prob.x0(1.0, None), np.r_[8.0, np.zeros(63)])


def _marina(cfg, prob, x_star, c, R=1):
    q = compressors.build(cfg["compressor"], prob.d, prob.M, weights=c.L_m)
    x0 = prob.x0(1.0, stream(0, "x0"))
    return build_method(cfg["method"], prob, c, q, R, rng_sampling=stream(0, "sampling"),
                        rng=stream(0, "compressor"), x0=x0, x_star=x_star)


def test_marina_with_identity_compressor_is_gradient_descent():
    """Without compression g^k = grad f(x^k) whatever the coins: the iterates are GD's."""
    cfg = _cfg("dataset.noise=0.2", "dataset.n_samples=6", "dataset.n_features=16", "compressor=identity",
               "method.p=0.3")
    prob, x_star, c = _problem(cfg)
    method, theory = _marina(cfg, prob, x_star, c)
    x = prob.x0(1.0, None)
    X = x[None].copy()
    gamma = np.array([theory["gamma"]])
    for _ in range(50):
        method.round(X, {"gamma": gamma})
        x = x - gamma[0] * prob.grad(x)
    np.testing.assert_allclose(X[0], x, rtol=1e-10, atol=1e-12)
    assert theory["gamma"] == pytest.approx(1.0 / c.L, rel=1e-12)   # A = B = 0


def test_marina_bits_and_coins():
    """Round 0's full gradients are charged once; then d floats in a synchronisation round and
    the compressor's message otherwise, with P(sync) = p."""
    cfg = _cfg("dataset.n_samples=8", "dataset.n_features=32", "method.p=0.25")
    prob, x_star, c = _problem(cfg)
    method, theory = _marina(cfg, prob, x_star, c)
    X = prob.x0(1.0, None)[None].copy()
    sent = [method.round(X, {"gamma": np.array([theory["gamma"]])})[1] for _ in range(4000)]
    full, msg = 32.0 * 32, 32.0 + 32
    assert sent[0] in (2 * full, full + msg)
    rest = np.array(sent[1:])
    assert set(np.unique(rest)) <= {full, msg}
    share = np.mean(rest == full)
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(rest))


def test_marina_p_star_and_stepsize_follow_the_theory():
    cfg = _cfg("dataset.noise=0.1", "dataset.n_samples=16", "dataset.n_features=64")
    prob, x_star, c = _problem(cfg)
    method, theory = _marina(cfg, prob, x_star, c)
    A = 64 / (4 * 16**2)                         # the paper's A_CQ = d/(4 n^2)
    assert (method.A, method.B) == (A, 0.0)
    p = optimal_p(64, 64 + 32, c.L, A, 0.0, c.L_plus, c.L_pm)
    assert method.p == pytest.approx(p, rel=1e-12) and 0 < p < 1
    assert theory["gamma"] == pytest.approx(marina_gamma(p, c.L, A, 0.0, c.L_plus, c.L_pm), rel=1e-12)
    true = _cfg("dataset.noise=0.1", "dataset.n_samples=16", "dataset.n_features=64", "method.ab_constants=exact")
    m2, t2 = _marina(true, prob, x_star, c)
    assert m2.A == pytest.approx(4 * A) and t2["gamma"] < theory["gamma"]


def test_iscc_given_weights_use_the_weighted_constants():
    cfg = _cfg("dataset=quadratic_lipt_different", "dataset.n_samples=8", "dataset.n_features=32",
               "dataset.noise=2.0", "compressor=iscc", "compressor.weights=given")
    prob, x_star, c = _problem(cfg)
    method, _ = _marina(cfg, prob, x_star, c)
    q = method.compressor
    np.testing.assert_allclose(q.q, np.asarray(c.L_m) / np.sum(c.L_m), rtol=1e-12)
    assert (method.L_plus, method.L_pm) == (c.L_plus_w, c.L_pm_w)
    uniform = copy.deepcopy(cfg)
    uniform["compressor"]["weights"] = "uniform"
    m2, _ = _marina(uniform, prob, x_star, c)
    assert (m2.L_plus, m2.L_pm) == (c.L_plus, c.L_pm)


def test_marina_meets_its_theorem_on_average():
    """E||grad f(x_hat)||^2 <= 2 Delta^0 / (gamma K) (Szlendak et al.; cq Theorem 2), x_hat
    uniform over the iterates: averaged over seeds, with the paper's CQ constants at s = 0
    (homogeneous: the constants are the true ones up to the range's factor, spec A.1)."""
    cfg = _cfg("dataset.noise=0.0", "dataset.n_samples=16", "dataset.n_features=32", "method.ab_constants=exact")
    prob, x_star, c = _problem(cfg)
    K, lhs = 300, []
    for seed in range(8):
        q = compressors.build(cfg["compressor"], prob.d, prob.M)
        x0 = prob.x0(1.0, None)
        method, theory = build_method(cfg["method"], prob, c, q, 1, rng_sampling=stream(seed, "sampling"),
                                      rng=stream(seed, "compressor"), x0=x0, x_star=x_star)
        tr = optimize(method, x0=x0, steps={"gamma": np.array([theory["gamma"]])}, multipliers={"gamma": np.ones(1)},
                      x_star=x_star, f_star=c.f_star, epochs=K, record_every=1, metrics=("grad_norm_sq",))
        lhs.append(tr.grad_norm_sq[:K, 0].mean())
    bound = 2 * (prob.loss(prob.x0(1.0, None)) - c.f_star) / (theory["gamma"] * K)
    assert np.mean(lhs) <= bound


def test_bit_budget_ends_the_run_and_bounds_the_selection():
    cfg = _cfg("dataset.n_samples=8", "dataset.n_features=32", "dataset.noise=0.1")
    prob, x_star, c = _problem(cfg)
    method, theory = _marina(cfg, prob, x_star, c, R=3)
    x0 = prob.x0(1.0, None)
    m = np.array([1.0, 2.0, 4.0])
    tr = optimize(method, x0=x0, steps={"gamma": theory["gamma"] * m}, multipliers={"gamma": m}, x_star=x_star,
                  f_star=c.f_star, epochs=10**9, record_every=5, metrics=("grad_norm_sq",), max_bits=3e4)
    assert tr.bits[-1] >= 3e4 and tr.bits[-2] < 3e4   # ended by the budget, recorded there
    assert tr.bits[-1] - 3e4 < 2 * 32 * 32                 # within one round of it
    within = tr.bits <= 1e4
    s_all, s_budget = select(tr, "grad_norm_sq", 1.0), select(tr, "grad_norm_sq", 1.0, within=within)
    Y = tr.grad_norm_sq
    assert s_budget.best[s_budget.index] == pytest.approx(np.nanmin(Y[within][:, s_budget.index]))
    assert s_all.level <= s_budget.level


def test_plan_refuses_what_cannot_run():
    base = ["problem=quadratic", "dataset=quadratic_worst_case", "run.metrics=[grad_norm_sq]", "run.stop_dist_sq=null"]
    with pytest.raises(ConfigError, match="marina.*topk"):
        run_config(to_plain(compose([*base, "method=marina", "compressor=topk"])))
    with pytest.raises(ConfigError, match="gd.*identity"):
        run_config(to_plain(compose([*base, "method=gd", "compressor=cq"])))
    with pytest.raises(ConfigError, match="method.p"):
        run_config(to_plain(compose([*base, "method=marina", "compressor=cq", "method.p=1.5"])))
    run_config(to_plain(compose([*base, "method=marina", "compressor=cq"])))
    nc = ["problem=nonconvex_logreg", "dataset=splice", "method=marina", "compressor=cq"]
    with pytest.raises(ConfigError, match="no known solution"):
        run_config(to_plain(compose([*nc, "run.stop_dist_sq=null"])))       # records f_gap, dist_sq
    with pytest.raises(ConfigError, match="stop_dist_sq"):
        run_config(to_plain(compose([*nc, "run.metrics=[grad_norm_sq]"])))
