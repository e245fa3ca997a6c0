"""The non-convex logistic regression of paper cq (Section 4.2): values, gradients at every entry
point, the contiguous split, the constants, and the problem built from a composed config."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from gradcomp.config import compose, to_plain
from gradcomp.data import hetero_split, iid_split
from gradcomp.data.split import contiguous_split
from gradcomp.pipeline import io
from gradcomp.problems import PROBLEMS, Constants
from gradcomp.problems.base import split_clients
from gradcomp.problems.nonconvex_logreg import NonconvexLogisticRegression
from gradcomp.seeding import stream


def make_nc(N=70, d=7, M=4, density=0.5, seed=0, lam=0.1):
    """A small random sparse problem on the contiguous split (lam large enough to matter)."""
    rng = np.random.default_rng(seed)
    A = sp.random(N, d, density=density, random_state=rng, format="csr")
    A.data = rng.standard_normal(A.nnz)
    y = np.where(rng.random(N) < 0.5, -1.0, 1.0)
    parts = contiguous_split(N, M)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    return NonconvexLogisticRegression(A, y, offsets, lam)


@pytest.fixture(scope="module")
def nc():
    return make_nc()


def dense_client_loss(prob, m, x):
    A = prob.A.toarray()
    lo, hi = prob.offsets[m], prob.offsets[m + 1]
    z = -prob.y[lo:hi] * (A[lo:hi] @ x)
    return np.mean(np.logaddexp(0.0, z)) + prob.lam_nc * np.sum(x**2 / (1 + x**2))


def dense_loss(prob, x):
    return np.mean([dense_client_loss(prob, m, x) for m in range(prob.M)])


def fd_grad(fun, x, eps=1e-6):
    return np.array([(fun(x + eps * e) - fun(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])


def points(prob, n, seed):
    return 1.5 * np.random.default_rng(seed).standard_normal((n, prob.d))


# ---- values and gradients ---------------------------------------------------------------------

def test_loss_matches_direct_formula(nc):
    X = points(nc, 3, 1)
    for x in X:
        assert nc.loss(x) == pytest.approx(dense_loss(nc, x), rel=1e-12)
    np.testing.assert_allclose(nc.loss(X), [dense_loss(nc, x) for x in X], rtol=1e-12)
    # the regulariser is there, and the L2 term of the parent is not
    x = X[0]
    logistic = dense_loss(nc, x) - nc.lam_nc * np.sum(x**2 / (1 + x**2))
    assert nc.loss(x) - logistic == pytest.approx(nc.lam_nc * np.sum(x**2 / (1 + x**2)), rel=1e-9)
    assert nc.lam == 0.0 and nc.reg == 0.0


def test_full_and_client_gradients_against_finite_differences(nc):
    for x in points(nc, 3, 2):
        np.testing.assert_allclose(nc.grad(x), fd_grad(lambda z: dense_loss(nc, z), x), atol=1e-8)
        np.testing.assert_allclose(nc.grads(np.stack([x, -x])),
                                   [fd_grad(lambda z: dense_loss(nc, z), v) for v in (x, -x)], atol=1e-8)
        G = nc.client_grads(x)
        for m in range(nc.M):
            np.testing.assert_allclose(G[m], fd_grad(lambda z: dense_client_loss(nc, m, z), x), atol=1e-8)
        np.testing.assert_allclose(G.mean(axis=0), nc.grad(x), atol=1e-14)


def test_hessian_against_finite_differences(nc):
    x = points(nc, 1, 3)[0]
    eps = 1e-6
    fdH = np.array([(nc.grad(x + eps * e) - nc.grad(x - eps * e)) / (2 * eps) for e in np.eye(nc.d)])
    np.testing.assert_allclose(nc.hessian(x), fdH, atol=1e-7)


def test_batch_grads_over_the_full_batch_for_two_replicas(nc):
    X = points(nc, 2, 4)
    G = nc.batch_grads(nc.batch(np.arange(nc.N)), X)
    assert G.shape == (2, nc.M, nc.d)
    for r in range(2):
        for m in range(nc.M):
            np.testing.assert_allclose(G[r, m], fd_grad(lambda z: dense_client_loss(nc, m, z), X[r]), atol=1e-8)


def _minibatch_rows(prob, rng, b):
    return np.concatenate([np.sort(rng.choice(np.arange(prob.offsets[m], prob.offsets[m + 1]), b, replace=True))
                           for m in range(prob.M)])


def _minibatch_reference(prob, rows, x):
    """Client m's minibatch gradient from the dense definition."""
    A = prob.A.toarray()
    out = np.zeros((prob.M, prob.d))
    for m in range(prob.M):
        rm = rows[prob.client_of_row[rows] == m]
        s = -prob.y[rm] / (1.0 + np.exp(prob.y[rm] * (A[rm] @ x)))
        out[m] = (s[:, None] * A[rm]).mean(axis=0) + 2 * prob.lam_nc * x / (1 + x**2) ** 2
    return out


def test_minibatch_gradients_and_kept_coordinates(nc):
    rng = np.random.default_rng(5)
    X = points(nc, 2, 6)
    for rows in (np.arange(nc.N), _minibatch_rows(nc, rng, 5)):
        batch = nc.batch(rows)
        G = nc.batch_grads(batch, X)
        for r in range(2):
            np.testing.assert_allclose(G[r], _minibatch_reference(nc, rows, X[r]), rtol=1e-11, atol=1e-14)
        S = np.stack([rng.choice(nc.d, 3, replace=False) for _ in range(nc.M)])
        Gs = nc.batch_grads_at(batch, X, S)
        assert Gs.shape == (2, nc.M, 3)
        np.testing.assert_allclose(Gs, G[:, np.arange(nc.M)[:, None], S], rtol=1e-12, atol=1e-15)


def test_mean_batch_grads_is_the_mean_of_the_minibatch_gradients(nc):
    rng = np.random.default_rng(7)
    X = points(nc, 2, 8)
    batches = [nc.batch(_minibatch_rows(nc, rng, 4)) for _ in range(3)]
    ref = np.mean([nc.batch_grads(b, X) for b in batches], axis=0)
    np.testing.assert_allclose(nc.mean_batch_grads(batches, X), ref, rtol=1e-11, atol=1e-14)
    S = np.stack([rng.choice(nc.d, 2, replace=False) for _ in range(nc.M)])
    np.testing.assert_allclose(nc.mean_batch_grads(batches, X, S), ref[:, np.arange(nc.M)[:, None], S],
                               rtol=1e-11, atol=1e-14)


def test_local_gradients_and_step_at_each_clients_own_iterate(nc):
    rng = np.random.default_rng(9)
    R = 2
    W = rng.standard_normal((R, nc.M, nc.d))                 # client m's iterate in replica r
    WT = np.ascontiguousarray(W.reshape(R, nc.M * nc.d).T)   # (M d, R)
    rows = _minibatch_rows(nc, rng, 5)
    batch = nc.batch(rows)
    GT = nc.batch_grads_local(batch, WT.copy())
    for r in range(R):
        for m in range(nc.M):
            ref = nc.batch_grads(batch, W[r, m][None, :])[0, m]
            np.testing.assert_allclose(GT[m * nc.d:(m + 1) * nc.d, r], ref, rtol=1e-11, atol=1e-14)
    gamma = np.array([0.1, 0.3])
    stepped = WT.copy()
    nc.local_step(batch, stepped, gamma)
    np.testing.assert_allclose(stepped, WT - GT * gamma, rtol=1e-13, atol=1e-15)


# ---- the contiguous split ---------------------------------------------------------------------

def test_contiguous_split_sizes_and_order():
    parts = contiguous_split(1000, 16)
    assert [len(p) for p in parts] == [63] * 8 + [62] * 8
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(1000))
    assert all(p.dtype == np.int64 for p in parts)
    # the segments of numpy.array_split (torch.tensor_split's sizes)
    for N, M in ((32561, 264), (2000, 4), (7, 7), (10, 3)):
        got = contiguous_split(N, M)
        for a, b in zip(got, np.array_split(np.arange(N), M)):
            np.testing.assert_array_equal(a, b)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            contiguous_split(10, bad)
    with pytest.raises(ValueError):
        contiguous_split(3, 4)


def test_split_clients_dispatch_keeps_the_other_splits():
    y = np.random.default_rng(0).choice([-1.0, 1.0], 103)
    pc = {"n_clients": 5}
    for got, ref in zip(split_clients(y, {**pc, "split": "contiguous"}, 0), contiguous_split(103, 5)):
        np.testing.assert_array_equal(got, ref)
    for got, ref in zip(split_clients(y, {**pc, "split": "hetero"}, 0), hetero_split(y, 5)):
        np.testing.assert_array_equal(got, ref)
    for got, ref in zip(split_clients(y, {**pc, "split": "iid"}, 3), iid_split(103, 5, stream(3, "split"))):
        np.testing.assert_array_equal(got, ref)


# ---- constants ----------------------------------------------------------------------------------

def _client_hessian(prob, m, x):
    A = prob.A.toarray()
    lo, hi = prob.offsets[m], prob.offsets[m + 1]
    p = 1.0 / (1.0 + np.exp(-(A[lo:hi] @ x)))
    H = (A[lo:hi].T * (p * (1 - p))) @ A[lo:hi] / (hi - lo)
    return H + np.diag(prob.reg_hessian_diag(x))


def check_constants(prob, c, n_points=4, seed=0):
    A = prob.A.toarray()
    assert c.mu == 0.0 and c.f_star == 0.0 and c.lam == prob.lam_nc
    for name in ("x_star_sq_norm", "grad_norm_at_x_star", "zeta_sq", "sigma_sq", "sigma_n_sq"):
        assert math.isnan(getattr(c, name)), name
    Lm = np.asarray(c.L_m)
    assert c.L_plus == pytest.approx(np.sqrt(np.mean(Lm**2)), rel=1e-14)
    assert c.L_A == pytest.approx(Lm.mean(), rel=1e-14)
    assert c.L_plus >= c.L_A and c.L_pm == c.L_plus and c.L_plus_w == c.L_A == c.L_pm_w
    assert c.L <= c.L_A * (1 + 1e-12)     # lambda_max of a mean <= mean of lambda_max
    np.testing.assert_array_less(Lm, np.asarray(c.L_max_m) * (1 + 1e-12))
    assert c.L_max == max(c.L_max_m)
    # the definitions
    W = prob.row_weight / 4
    assert c.L == pytest.approx(np.linalg.eigvalsh(A.T @ (A * W[:, None]))[-1] + 2 * prob.lam_nc, rel=1e-10)
    for m in range(prob.M):
        lo, hi = prob.offsets[m], prob.offsets[m + 1]
        Am = A[lo:hi]
        assert c.L_m[m] == pytest.approx(np.linalg.eigvalsh(Am.T @ Am / (4 * (hi - lo)))[-1] + 2 * prob.lam_nc,
                                         rel=1e-10)
        assert c.L_max_m[m] == pytest.approx(np.max(np.sum(Am**2, axis=1)) / 4 + 2 * prob.lam_nc, rel=1e-12)
    # the bounds hold: Hessians at random points (x = 0 included: the regulariser's largest curvature)
    rng = np.random.default_rng(seed)
    w = Lm / Lm.sum()
    for x in [np.zeros(prob.d), *(rng.standard_normal((n_points, prob.d)) * s for s in (0.3, 3.0))]:
        for xx in np.atleast_2d(x):
            assert np.linalg.norm(prob.hessian(xx), 2) <= c.L * (1 + 1e-10)
            for m in range(prob.M):
                assert np.linalg.norm(_client_hessian(prob, m, xx), 2) <= c.L_m[m] * (1 + 1e-10)
    # L_+ and the weighted L_+ on random pairs
    for _ in range(n_points):
        x, z = rng.standard_normal((2, prob.d))
        D = prob.client_grads(x) - prob.client_grads(z)
        dist = np.sum((x - z) ** 2)
        sq = np.sum(D**2, axis=1)
        assert np.mean(sq) <= c.L_plus**2 * dist * (1 + 1e-10)
        assert np.mean(sq / (prob.M * w)) <= c.L_plus_w**2 * dist * (1 + 1e-10)


def test_constants_on_a_random_problem(nc):
    c = nc.constants(None, {"batch_fraction": 1.0})
    assert c.N == nc.N and c.d == nc.d and c.M == nc.M == 4
    assert c.n_m == [18, 18, 17, 17] and c.b_m == c.n_m and c.n_steps == 1
    check_constants(nc, c)


def test_constants_survive_the_json_cache(nc, tmp_path):
    c = nc.constants(None, {"batch_fraction": 1.0})
    io.write_json(tmp_path / "constants.json", c.to_dict())
    back = Constants.from_dict(io.read_json(tmp_path / "constants.json"))
    for k, v in c.to_dict().items():
        got = getattr(back, k)
        assert got == v or (isinstance(v, float) and math.isnan(v) and math.isnan(got)), k
    assert "NaN" in (tmp_path / "constants.json").read_text()   # Python's json extension
    json.loads((tmp_path / "constants.json").read_text())


def test_no_solution(nc):
    assert NonconvexLogisticRegression.has_solution is False and nc.solve({}) is None
    assert PROBLEMS["nonconvex_logreg"] is NonconvexLogisticRegression
    assert PROBLEMS["logreg"].has_solution    # the parent is untouched


# ---- from a composed config ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def composed():
    return to_plain(compose(["problem=nonconvex_logreg"]))


def test_composed_config_defaults(composed):
    p = composed["problem"]
    assert p == {"name": "nonconvex_logreg", "n_clients": 16, "split": "contiguous", "batch_fraction": 1.0,
                 "lam": 0.001}


def test_from_config_end_to_end(composed):
    cfg = copy.deepcopy(composed)
    cfg["problem"]["n_clients"] = 6
    rng = np.random.default_rng(11)
    N, d = 100, 9
    A = sp.random(N, d, density=0.4, random_state=rng, format="csr")
    y_raw = rng.choice([0.0, 1.0], N)                      # mapped to {-1, +1}
    prob, parts = PROBLEMS["nonconvex_logreg"].from_config(cfg, A, y_raw)
    assert isinstance(prob, NonconvexLogisticRegression)
    assert [len(p) for p in parts] == [17] * 4 + [16] * 2
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(N))   # file order kept
    np.testing.assert_array_equal(prob.y, 2 * y_raw - 1)
    assert (prob.A != A).nnz == 0 and prob.lam_nc == 0.001
    c = prob.constants(prob.solve(cfg["problem"]), cfg["problem"])
    assert c.b_m == c.n_m and c.n_steps == 1
    check_constants(prob, c, n_points=2)
    summary = prob.clients_summary(y_raw, parts)
    assert np.asarray(summary["label_counts"]).sum() == N


# ---- a real dataset -----------------------------------------------------------------------------

def test_splice_with_the_papers_clients(mirror):
    from gradcomp.pipeline.problem import build_problem

    cfg = copy.deepcopy(to_plain(compose(["problem=nonconvex_logreg", "dataset=splice", f"data.mirror={mirror}"])))
    prob, parts, _ = build_problem(cfg, cfg["data"])
    assert (prob.N, prob.d, prob.M) == (1000, 60, 16)
    assert [len(p) for p in parts] == [63] * 8 + [62] * 8
    c = prob.constants(None, cfg["problem"])
    check_constants(prob, c, n_points=2)
    x = points(prob, 1, 12)[0]
    g = prob.grad(x)
    fd = fd_grad(prob.loss, x, eps=1e-5)
    np.testing.assert_allclose(g, fd, atol=1e-6 * max(1.0, np.abs(g).max()))
