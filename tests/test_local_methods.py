"""Local methods (Q-NASTYA, DIANA-NASTYA, NASTYA, FedCOM, FedPAQ) and EF21-SGD.

Reductions (rr spec 7), agreement with slow loop references, the ``local_gradient_at``
switch (spec 6.1), replicas over a (gamma, eta) grid, and the config/run-id contract.
"""

import numpy as np
import pytest
from scipy.special import expit

from gradcomp import methods
from gradcomp.compressors import BitCost, Identity, RandK, sample_subsets
from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.pipeline.identity import run_config, run_id
from gradcomp.pipeline.run import multipliers_of
from gradcomp.problems.constants import compute_constants, newton
from gradcomp.seeding import stream

from conftest import make_problem, minibatch_sgd_reference, run_method

NASTYA = dict(algorithm="nastya", sampling="rr", reshuffle="every_epoch", shifts="none", stepsize_rule="q_nastya")
CFG = {
    "q_nastya": NASTYA,
    "diana_nastya": {**NASTYA, "shifts": "client", "alpha_scale": 1.0, "stepsize_rule": "diana_nastya"},
    "fedcom": dict(algorithm="fedcom", sampling="with_replacement", reshuffle="none", shifts="none",
                   stepsize_rule="fedcom", local_gradient_at="local_iterate"),
    "fedpaq": dict(algorithm="fedpaq", sampling="with_replacement", reshuffle="none", shifts="none",
                   stepsize_rule="fedpaq", local_gradient_at="local_iterate"),
    "ef21_sgd": dict(algorithm="ef21", sampling="with_replacement", reshuffle="none", shifts="none",
                     stepsize_rule="ef21"),
}
COST = BitCost(64, False)


@pytest.fixture(scope="module")
def setup():
    prob = make_problem(N=200, d=10, M=4, seed=11, kappa=100.0)
    xs = newton(prob, 1e-13, 100)
    return prob, xs, compute_constants(prob, xs, 0.1)


def run(prob, xs, c, name, comp, gamma_mult=(1.0,), eta_mult=(1.0,), epochs=5, seed=0, gamma=None, eta=None,
        coordinate_path=None, **over):
    """One run of ``name``: stepsizes are ``mult * theory`` unless ``gamma``/``eta`` are given."""
    mcfg = {**CFG[name], **over}
    two = mcfg["algorithm"] != "ef21"
    gm = np.asarray(gamma_mult, dtype=float)
    mult = {"gamma": gm, "eta": np.asarray(eta_mult, dtype=float)} if two else {"gamma": gm}
    steps = None
    if gamma is not None or eta is not None:
        _, theory = run_method(prob, xs, c, mcfg, comp, mult, epochs=0, seed=seed)
        steps = {"gamma": theory["gamma"] * gm if gamma is None else np.asarray(gamma, dtype=float)}
        if two:
            steps["eta"] = theory["eta"] * mult["eta"] if eta is None else np.asarray(eta, dtype=float)
    tr, theory = run_method(prob, xs, c, mcfg, comp, mult, epochs=epochs, seed=seed, steps=steps,
                            dense=coordinate_path is False)
    return tr, theory["gamma"], theory.get("eta")


def grads(prob, rows, x):
    """Dense minibatch gradient of the rows ``rows`` (one client) at ``x``."""
    A, y = prob.A[rows].toarray(), prob.y[rows]
    s = -y * expit(-y * (A @ x))
    return (s[:, None] * A).mean(0) + 2 * prob.lam * x


def rr_slots(prob, c, order, m, j):
    """Rows of client m in RR slot j of the permutation ``order`` (the authors' batching)."""
    lo, nm, b = prob.offsets[m], prob.n_m[m], c.b_m[m]
    perm = order[lo:lo + nm]
    return perm[j * b:(j + 1) * b] if j < c.n_steps - 1 else perm[j * b:]


# ---- reductions ---------------------------------------------------------------------------

@pytest.mark.parametrize("at", ["server", "local_iterate"])
@pytest.mark.parametrize("name", ["q_nastya", "diana_nastya"])
def test_omega_zero_turns_q_nastya_into_nastya(setup, name, at):
    """Rand-d (omega = 0) is the identity: Q-NASTYA and DIANA-NASTYA become NASTYA."""
    prob, xs, c = setup
    nastya, g0, e0 = run(prob, xs, c, "q_nastya", Identity(prob.d, COST), eta_mult=[16.0], epochs=20,
                         local_gradient_at=at)
    full, g1, e1 = run(prob, xs, c, name, RandK(prob.d, prob.d, COST), epochs=20, gamma=nastya.gamma,
                       eta=nastya["eta"], local_gradient_at=at)
    np.testing.assert_allclose(full.dist_sq, nastya.dist_sq, rtol=1e-10)
    assert nastya.dist_sq[-1, 0] < 0.9 * nastya.dist_sq[0, 0]
    if name == "q_nastya":
        assert (g1, e1) == (g0, e0)  # the theoretical stepsizes agree at omega = 0 too
    # and with compression (k < d) it is a different method
    comp, _, _ = run(prob, xs, c, name, RandK(prob.d, 2, COST), epochs=20, gamma=nastya.gamma,
                     eta=nastya["eta"], local_gradient_at=at)
    assert not np.allclose(comp.dist_sq, nastya.dist_sq, rtol=1e-6)


def reference_fedrr(prob, c, gamma, epochs, seed=0):
    """FedRR: each client runs one RR epoch from x with stepsize gamma, the server averages."""
    rng_s = stream(seed, "sampling")
    x = stream(seed, "x0").standard_normal(prob.d)
    for _ in range(epochs):
        order = np.lexsort((rng_s.random(prob.N), prob.client_of_row))
        ws = []
        for m in range(prob.M):
            w = x.copy()
            for j in range(c.n_steps):
                w = w - gamma * grads(prob, rr_slots(prob, c, order, m, j), w)
            ws.append(w)
        x = np.mean(ws, axis=0)
    return x


def test_nastya_with_gamma_eta_over_n_is_fedrr(setup):
    prob, xs, c = setup
    eta = 0.05
    gamma = eta / c.n_steps
    tr, _, _ = run(prob, xs, c, "q_nastya", Identity(prob.d, COST), epochs=6, gamma=[gamma], eta=[eta],
                   local_gradient_at="local_iterate")
    x_ref = reference_fedrr(prob, c, gamma, 6)
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x_ref - xs) ** 2), rel=1e-10)
    # the authors' variant (gradients at the server point) is not FedRR
    srv, _, _ = run(prob, xs, c, "q_nastya", Identity(prob.d, COST), epochs=6, gamma=[gamma], eta=[eta],
                    local_gradient_at="server")
    assert srv.dist_sq[-1, 0] != pytest.approx(tr.dist_sq[-1, 0], rel=1e-6)


def _linear(d, lo, hi):
    ld = np.log(d[lo:hi])
    fit = np.polyfit(np.arange(len(ld)), ld, 1)
    return fit[0], np.max(np.abs(np.polyval(fit, np.arange(len(ld))) - ld))


@pytest.mark.parametrize("N,fraction,at,epochs", [
    (120, 1.0, "local_iterate", 1500),  # b_m = n_m: one local step with the full local gradient
    (160, 0.1, "server", 1200),         # n = 10 equal slots at x: their mean is grad f_m(x)
])
def test_diana_nastya_with_full_local_gradients_converges_linearly(N, fraction, at, epochs):
    prob = make_problem(N=N, d=8, M=4, seed=7, kappa=1.0)
    xs = newton(prob, 1e-13, 100)
    c = compute_constants(prob, xs, fraction)
    comp = RandK(prob.d, 2, COST)
    # eta x 64: the theoretical eta (1 / (16 L_max (1 + 9 omega / M))) needs ~50k rounds here
    tr, _, _ = run(prob, xs, c, "diana_nastya", comp, eta_mult=[64.0], epochs=epochs, local_gradient_at=at)
    d = tr.dist_sq[:, 0]
    assert d[-1] < 1e-16 * d[0]
    slope, resid = _linear(d, 50, 750)
    assert slope < -0.02 and resid < 3.0
    # without shifts the compressed full gradients stall at a noise floor (heterogeneous clients)
    q, _, _ = run(prob, xs, c, "q_nastya", comp, epochs=epochs, gamma=tr.gamma, eta=tr["eta"],
                  local_gradient_at=at)
    assert np.min(q.dist_sq[-100:, 0]) > 1e6 * d[-1]


def test_ef21_with_identity_is_minibatch_sgd(setup):
    prob, xs, c = setup
    tr, g0, _ = run(prob, xs, c, "ef21_sgd", Identity(prob.d, COST), epochs=3)
    x = minibatch_sgd_reference(prob, c.b_m, g0, int(tr.rounds[-1]), lambda rows, x: np.mean(
        [grads(prob, rows[prob.client_of_row[rows] == m], x) for m in range(prob.M)], axis=0))
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-10)
    assert g0 == pytest.approx(1.0 / c.L)  # a = 1: the EF21 rule is 1 / L


def reference_ef21(prob, c, k, gamma, rounds, seed=0):
    """EF21 with C = Rand-k / (omega + 1), g_m^0 the first minibatch gradient, client loops."""
    rng_s, rng_q = stream(seed, "sampling"), stream(seed, "compressor")
    x = stream(seed, "x0").standard_normal(prob.d)
    start = np.repeat(prob.offsets[:-1], c.b_m)
    size = np.repeat(prob.n_m, c.b_m)
    g = None
    for _ in range(rounds):
        rows = start + rng_s.integers(0, size)
        G = np.array([grads(prob, rows[prob.client_of_row[rows] == m], x) for m in range(prob.M)])
        if g is None:
            g = G
        else:
            S = sample_subsets(rng_q, prob.M, prob.d, k)
            for m in range(prob.M):
                g[m, S[m]] = G[m, S[m]]  # (d/k) / (omega + 1) = 1: C keeps k coordinates unscaled
        x = x - gamma * g.mean(0)
    return x


@pytest.mark.parametrize("coordinate_path", [True, False])
def test_ef21_matches_loop_reference(setup, coordinate_path):
    prob, xs, c = setup
    tr, g0, _ = run(prob, xs, c, "ef21_sgd", RandK(prob.d, 3, COST), epochs=3, coordinate_path=coordinate_path)
    x = reference_ef21(prob, c, 3, g0, int(tr.rounds[-1]))
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-10)


def reference_diana_nastya(prob, c, k, gamma, eta, epochs, at_local_iterate, seed=0):
    """Algorithm 4 (DIANA-NASTYA) with explicit loops over clients and local steps."""
    rng_s, rng_q = stream(seed, "sampling"), stream(seed, "compressor")
    x = stream(seed, "x0").standard_normal(prob.d)
    alpha = 1 / (prob.d / k)  # 1 / (omega + 1)
    h = np.zeros((prob.M, prob.d))
    for _ in range(epochs):
        order = np.lexsort((rng_s.random(prob.N), prob.client_of_row))
        S = sample_subsets(rng_q, prob.M, prob.d, k)
        g_hat = np.zeros(prob.d)
        for m in range(prob.M):
            w = x.copy()
            for j in range(c.n_steps):
                w = w - gamma * grads(prob, rr_slots(prob, c, order, m, j), w if at_local_iterate else x)
            g = (x - w) / (gamma * c.n_steps)
            q = np.zeros(prob.d)
            q[S[m]] = prob.d / k * (g - h[m])[S[m]]
            g_hat += (h[m] + q) / prob.M
            h[m] += alpha * q
        x = x - eta * g_hat
    return x


@pytest.mark.parametrize("at", ["server", "local_iterate"])
def test_diana_nastya_matches_loop_reference(setup, at):
    prob, xs, c = setup
    tr, g0, e0 = run(prob, xs, c, "diana_nastya", RandK(prob.d, 3, COST), gamma_mult=[8.0], eta_mult=[16.0],
                     epochs=6, local_gradient_at=at)
    x = reference_diana_nastya(prob, c, 3, 8.0 * g0, 16.0 * e0, 6, at == "local_iterate")
    assert tr.dist_sq[-1, 0] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-10)


# ---- the local_gradient_at switch (spec 6.1) ------------------------------------------------

def reference_q_nastya_at_server(prob, c, k, eta, epochs, seed=0):
    """Closed form of the authors' Q-NASTYA: x <- x - eta 1/M sum_m Q(1/n sum_j grad f_{m,B_j}(x))."""
    rng_s, rng_q = stream(seed, "sampling"), stream(seed, "compressor")
    x = stream(seed, "x0").standard_normal(prob.d)
    for _ in range(epochs):
        order = np.lexsort((rng_s.random(prob.N), prob.client_of_row))
        S = sample_subsets(rng_q, prob.M, prob.d, k)
        step = np.zeros(prob.d)
        for m in range(prob.M):
            g = np.mean([grads(prob, rr_slots(prob, c, order, m, j), x) for j in range(c.n_steps)], axis=0)
            q = np.zeros(prob.d)
            q[S[m]] = prob.d / k * g[S[m]]
            step += q / prob.M
        x = x - eta * step
    return x


def test_server_switch_is_the_closed_form_and_gamma_cancels(setup):
    prob, xs, c = setup
    comp = RandK(prob.d, 3, COST)
    gm = [1e-3, 1.0, 30.0]
    tr, _, e0 = run(prob, xs, c, "q_nastya", comp, gamma_mult=gm, eta_mult=[4.0] * 3, epochs=8,
                    local_gradient_at="server")
    for r in (0, 2):  # the client stepsize does not matter ...
        np.testing.assert_allclose(tr.dist_sq[:, r], tr.dist_sq[:, 1], rtol=1e-9)
    x = reference_q_nastya_at_server(prob, c, 3, 4.0 * e0, 8)  # ... and this is the update
    assert tr.dist_sq[-1, 1] == pytest.approx(np.sum((x - xs) ** 2), rel=1e-10)
    # at the local iterate (Algorithm 3) gamma matters
    loc, _, _ = run(prob, xs, c, "q_nastya", comp, gamma_mult=gm, eta_mult=[4.0] * 3, epochs=8,
                    local_gradient_at="local_iterate")
    assert not np.allclose(loc.dist_sq[:, 2], loc.dist_sq[:, 1], rtol=1e-3)


# ---- the compiled local step ---------------------------------------------------------------

@pytest.mark.parametrize("R", [1, 3, 129, 300])  # 129: blocks of 65 and 64; 300: three of 100
def test_local_step_kernel_is_the_minibatch_gradient_step(setup, R):
    """``local_step`` (Numba) against its formula in SciPy products: w - gamma grad f_{m,B}(w)."""
    prob, _, _ = setup
    rng = np.random.default_rng(5)
    rows = np.concatenate([rng.choice(np.arange(prob.offsets[m], prob.offsets[m + 1]), size=7)
                           for m in range(prob.M)])          # repeats allowed, as with replacement
    batch = prob.batch(rows)
    WT = rng.standard_normal((prob.M * prob.d, R))
    gamma = rng.uniform(0.1, 2.0, R)
    expected = WT - gamma[None, :] * prob.batch_grads_local(batch, WT)
    W0 = WT.copy()
    prob.local_step(batch, WT, gamma)
    np.testing.assert_allclose(WT, expected, rtol=1e-12, atol=1e-14)
    # each replica is the same stepsize run alone, bit for bit, in any block; and a batch
    # read from its own compacted arrays steps the same as one read where its rows lie
    for r in {0, R // 3, R // 2, R - 1}:
        alone = W0[:, r:r + 1].copy()
        prob.local_step(batch, alone, gamma[r:r + 1])
        np.testing.assert_array_equal(alone[:, 0], WT[:, r])
    compact = W0.copy()
    prob.local_step(prob.batch(rows).compact(), compact, gamma)
    np.testing.assert_array_equal(compact, WT)


def test_local_step_refuses_rows_not_grouped_by_client(setup):
    prob, _, _ = setup
    batch = prob.batch(np.array([prob.offsets[1], prob.offsets[0]]))   # client 1 before client 0
    with pytest.raises(ValueError, match="grouped by client"):
        prob.local_step(batch, np.zeros((prob.M * prob.d, 1)), np.ones(1))


# ---- replicas ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,at", [("q_nastya", "server"), ("q_nastya", "local_iterate"),
                                     ("diana_nastya", "local_iterate"), ("fedcom", "local_iterate"),
                                     ("fedpaq", "local_iterate")])
def test_replicas_equal_independent_runs(setup, name, at):
    """The (gamma, eta) grid as replicas, a diverging pair included (frozen and compacted)."""
    prob, xs, c = setup
    cfg = {"method": {"algorithm": CFG[name]["algorithm"]},
           "stepsize": {"multiplier": 1.0, "grid": [0.5, 2.0], "server_multiplier": 1.0,
                        "server_grid": [1.0, 4.0, 1e6]}}
    gm, em = multipliers_of(cfg).values()
    np.testing.assert_array_equal(gm, [0.5, 0.5, 0.5, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(em, [1.0, 4.0, 1e6] * 2)
    comp = RandK(prob.d, 3, COST)
    kw = dict(local_gradient_at=at)
    batched, _, _ = run(prob, xs, c, name, comp, gamma_mult=gm, eta_mult=em, epochs=6, **kw)
    for r in range(len(gm)):
        single, _, _ = run(prob, xs, c, name, comp, gamma_mult=[gm[r]], eta_mult=[em[r]], epochs=6, **kw)
        T = len(single.passes)  # a single run ends when its only replica diverges
        np.testing.assert_allclose(batched.dist_sq[:T, r], single.dist_sq[:, 0], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(batched.f_gap[:T, r], single.f_gap[:, 0], rtol=1e-10, atol=1e-15)
        assert np.isnan(batched.dist_sq[T:, r]).all()
        assert (batched.status[r], batched.event[r]) == (single.status[0], single.event[0])
    np.testing.assert_array_equal(batched["eta_multipliers"], em)
    assert batched.status[2] == methods.DIVERGED and batched.status[0] == methods.ACTIVE


@pytest.mark.parametrize("name", ["q_nastya", "diana_nastya"])
def test_server_mode_shares_one_trajectory_per_eta_and_equals_every_pair(setup, name):
    """At the server point gamma cancels: one replica per eta, broadcast to every gamma.

    The broadcast must equal running every (gamma, eta) pair on its own (which computes the
    closed form again for each pair), and the trace says which trajectory each pair follows.
    """
    prob, xs, c = setup
    cfg = {"method": {"algorithm": "nastya"},
           "stepsize": {"multiplier": 1.0, "grid": [1e-3, 1.0, 64.0], "server_multiplier": 1.0,
                        "server_grid": [2.0, 8.0, 1e6]}}
    gm, em = multipliers_of(cfg).values()
    comp = RandK(prob.d, 3, COST)
    tr, _, _ = run(prob, xs, c, name, comp, gamma_mult=gm, eta_mult=em, epochs=6, local_gradient_at="server")
    np.testing.assert_array_equal(tr["trajectory"], [0, 1, 2] * 3)
    np.testing.assert_array_equal(tr.multipliers, gm)
    np.testing.assert_array_equal(tr["eta_multipliers"], em)
    for r in range(len(gm)):
        single, _, _ = run(prob, xs, c, name, comp, gamma_mult=[gm[r]], eta_mult=[em[r]], epochs=6,
                           local_gradient_at="server")
        T = len(single.passes)
        np.testing.assert_allclose(tr.dist_sq[:T, r], single.dist_sq[:, 0], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(tr.f_gap[:T, r], single.f_gap[:, 0], rtol=1e-12, atol=1e-300)
        assert (tr.status[r], tr.event[r]) == (single.status[0], single.event[0])
    assert tr.status[2] == methods.DIVERGED
    # at the local iterate nothing is shared
    loc, _, _ = run(prob, xs, c, name, comp, gamma_mult=gm, eta_mult=em, epochs=2, local_gradient_at="local_iterate")
    np.testing.assert_array_equal(loc["trajectory"], np.arange(len(gm)))


@pytest.mark.parametrize("name,at", [("q_nastya", "server"), ("q_nastya", "local_iterate"),
                                     ("diana_nastya", "server"), ("diana_nastya", "local_iterate"),
                                     ("fedcom", "local_iterate"), ("fedcom", "server"),
                                     ("fedpaq", "local_iterate"), ("fedpaq", "server")])
def test_local_coordinate_path_equals_dense_path(setup, name, at):
    """Rand-k messages formed at the k sent coordinates only give the dense path's iterates."""
    prob, xs, c = setup
    comp = RandK(prob.d, 3, COST)
    kw = dict(gamma_mult=[0.5, 2.0], eta_mult=[1.0, 4.0], epochs=5, local_gradient_at=at)
    sparse, _, _ = run(prob, xs, c, name, comp, coordinate_path=True, **kw)
    dense, _, _ = run(prob, xs, c, name, comp, coordinate_path=False, **kw)
    np.testing.assert_allclose(sparse.dist_sq, dense.dist_sq, rtol=1e-10)
    assert sparse.dist_sq[-1, 0] != dense.dist_sq[0, 0]


def test_local_rounds_are_epochs_and_fedcom_rounds_use_n_minibatches(setup):
    prob, xs, c = setup
    q, _, _ = run(prob, xs, c, "q_nastya", RandK(prob.d, 2, COST), epochs=3, local_gradient_at="server")
    np.testing.assert_array_equal(q.rounds, [0, 1, 2, 3])
    np.testing.assert_array_equal(q.passes, [0, 1, 2, 3])
    np.testing.assert_array_equal(q.bits, q.rounds * 128)
    f, _, _ = run(prob, xs, c, "fedcom", RandK(prob.d, 2, COST), epochs=3)
    per_round = c.n_steps * sum(c.b_m) / prob.N
    np.testing.assert_allclose(f.passes[1:], f.rounds[1:] * per_round)


# ---- theoretical stepsizes on real data (spec 2.11) ---------------------------------------

def test_theoretical_stepsizes_match_the_spec_on_mushrooms(mirror, tmp_path_factory):
    from gradcomp.pipeline import problem

    full = to_plain(compose(["dataset=mushrooms"]))
    data = {"mirror": str(mirror), "cache_dir": str(tmp_path_factory.mktemp("cache")), "download": False}
    prob, const, _ = problem.load(run_config(full), data, tmp_path_factory.mktemp("results"))
    comp = RandK(prob.d, 2, COST)  # Rand-2, d = 112: omega = 55
    for name, want, rel in [
        ("q_nastya", (3.809e-3, 3.174e-3), 1e-3),
        ("diana_nastya", (1.190e-3, 4.623e-4), 1e-3),
        # max_m L_m depends on the label sort's tie order (ours is stable, theirs is not)
        ("fedcom", (1.635e-4, 20.0), 5e-3),
        ("fedpaq", (2.829e-7, 1.0), 5e-3),
    ]:
        _, theory = methods.build({**CFG[name], "local_gradient_at": "server"}, prob, const, comp, 1,
                                  rng_sampling=stream(0, "sampling"), rng=stream(0, "compressor"), x0=np.zeros(prob.d))
        assert (theory["gamma"], theory["eta"]) == pytest.approx(want, rel=rel), name


# ---- config and run ids -----------------------------------------------------------------------

# Run ids of the existing methods, computed with the code before the local methods existed.
EXISTING_IDS = {
    "qsgd": ("536db356d9fe", "4e942e76a776"),
    "q_rr": ("efc4b1f0f543", "b78a34897f2f"),
    "diana": ("6759781468ae", "b6403826305b"),
    "diana_rr": ("0b0a974376ae", "bd0cfb02d5f1"),
    "diana_rr_1s": ("794412bd5a1b", "f9293b9934cc"),
}


@pytest.mark.parametrize("method", sorted(EXISTING_IDS))
def test_run_ids_of_existing_methods_are_unchanged(method):
    default = run_config(to_plain(compose([f"method={method}"])))
    gridded = run_config(to_plain(compose(["dataset=w8a", f"method={method}", "run.epochs=500",
                                           "stepsize.grid=[0.5,1.0,2.0]"])))   # quick's former epochs
    assert (run_id(default), run_id(gridded)) == EXISTING_IDS[method]
    assert "server_grid" not in default["stepsize"] and "local_gradient_at" not in default["method"]


def test_two_stepsize_fields_are_checked():
    with pytest.raises(ConfigError, match="has no stepsize eta"):
        run_config(to_plain(compose(["method=qsgd", "stepsize.server_grid=[1,2]"])))
    with pytest.raises(ConfigError, match="Key 'local_gradient_at' not in 'DianaConf'"):
        run_config(to_plain(compose(["method=diana", "method.local_gradient_at=server"])))
    with pytest.raises(ConfigError, match="local_gradient_at"):
        run_config(to_plain(compose(["method=q_nastya", "method.local_gradient_at=null"])))
    with pytest.raises(ConfigError, match="expected one of"):
        compose(["method=q_nastya", "method.local_gradient_at=bogus"])
    a = run_config(to_plain(compose(["method=q_nastya"])))
    b = run_config(to_plain(compose(["method=q_nastya", "method.local_gradient_at=local_iterate"])))
    c = run_config(to_plain(compose(["method=q_nastya", "stepsize.server_grid=[1,2]"])))
    assert len({run_id(a), run_id(b), run_id(c)}) == 3
    assert a["method"]["local_gradient_at"] == "server"
    assert to_plain(compose(["method=nastya"]))["compressor"]["name"] == "identity"


def test_nastya_refuses_a_compressor():
    """NASTYA with Rand-k would be Q-NASTYA under NASTYA's name."""
    assert run_config(to_plain(compose(["method=nastya"])))["compressor"]["name"] == "identity"
    with pytest.raises(ConfigError, match="use method=q_nastya"):
        run_config(to_plain(compose(["method=nastya", "compressor=randk"])))
    run_config(to_plain(compose(["method=q_nastya", "compressor=randk"])))   # no restriction there
