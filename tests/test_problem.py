import numpy as np
import pytest
from scipy.special import expit

from gradcomp.problems.constants import compute_constants, newton
from gradcomp.problems.rows import unsigned

from conftest import make_problem


def dense_loss(prob, x):
    A = prob.A.toarray()
    out = 0.0
    for m in range(prob.M):
        lo, hi = prob.offsets[m], prob.offsets[m + 1]
        out += np.mean(np.log1p(np.exp(-prob.y[lo:hi] * (A[lo:hi] @ x)))) / prob.M
    return out + prob.lam * x @ x


def test_loss_matches_dense_definition(tiny):
    x = np.random.default_rng(1).standard_normal(tiny.d)
    assert tiny.loss(x) == pytest.approx(dense_loss(tiny, x), rel=1e-13)
    X = np.stack([x, 2 * x])
    np.testing.assert_allclose(tiny.loss(X), [dense_loss(tiny, x), dense_loss(tiny, 2 * x)], rtol=1e-13)


def test_gradient_and_hessian_against_finite_differences(tiny):
    x = np.random.default_rng(2).standard_normal(tiny.d)
    eps = 1e-6
    fd = np.array([(tiny.loss(x + eps * e) - tiny.loss(x - eps * e)) / (2 * eps) for e in np.eye(tiny.d)])
    np.testing.assert_allclose(tiny.grad(x), fd, atol=1e-8)
    fdH = np.array([(tiny.grad(x + eps * e) - tiny.grad(x - eps * e)) / (2 * eps) for e in np.eye(tiny.d)])
    np.testing.assert_allclose(tiny.hessian(x), fdH, atol=1e-7)


def test_batch_grads_are_per_client_minibatch_means(tiny):
    rng = np.random.default_rng(3)
    A = tiny.A.toarray()
    rows = np.sort(np.concatenate([rng.choice(np.arange(tiny.offsets[m], tiny.offsets[m + 1]), 5, replace=True)
                                   for m in range(tiny.M)]))
    X = rng.standard_normal((3, tiny.d))
    G = tiny.batch_grads(tiny.batch(rows), X)
    for r in range(3):
        for m in range(tiny.M):
            rm = rows[tiny.client_of_row[rows] == m]
            s = -tiny.y[rm] * expit(-tiny.y[rm] * (A[rm] @ X[r]))
            ref = (s[:, None] * A[rm]).mean(axis=0) + 2 * tiny.lam * X[r]
            np.testing.assert_allclose(G[r, m], ref, rtol=1e-12, atol=1e-14)


def test_batch_matrices_are_the_rows_in_order(tiny):
    rows = np.random.default_rng(4).permutation(tiny.N)
    rows = rows[np.argsort(tiny.client_of_row[rows], kind="stable")][10:30]
    b = tiny.batch(rows)
    np.testing.assert_array_equal(b.B.toarray(), tiny.A.toarray()[rows])
    BD = b.BD.toarray().reshape(len(rows), tiny.M, tiny.d)
    for i, m in enumerate(tiny.client_of_row[rows]):
        np.testing.assert_array_equal(BD[i, m], tiny.A.toarray()[rows[i]])
        assert not np.delete(BD[i], m, axis=0).any()


def _scipy_products(b, X, W, S):
    """The minibatch products as SciPy and NumPy take them, on the batch's own matrices:
    the compiled kernels must equal these bit for bit (same terms, same order)."""
    Z = b.B @ np.ascontiguousarray(X.T)
    GT = b.BD.T @ W
    C = b.BD.tocsc()
    R, (M, k) = W.shape[1], S.shape
    cols = (np.arange(M)[:, None] * b.d + S).ravel()
    start, cnt = C.indptr[cols], np.diff(C.indptr)[cols]
    ends = np.cumsum(cnt)
    pos = np.repeat(start - (ends - cnt), cnt) + np.arange(ends[-1])
    contrib = W[C.indices[pos]] * C.data[pos][:, None]
    flat = (np.repeat(np.arange(M * k), cnt)[:, None] * R + np.arange(R)).ravel()
    G_at = np.bincount(flat, weights=contrib.ravel(), minlength=M * k * R).reshape(M * k, R)
    return Z, GT, G_at


@pytest.mark.parametrize("R", [1, 5])
def test_minibatch_kernels_equal_scipy_bit_for_bit(R):
    from gradcomp.problems import kernels

    prob = make_problem(N=400, d=30, M=5, density=0.3, seed=7)
    rng = np.random.default_rng(8)
    # with-replacement rows (repeats) grouped by client, and a reshuffled slice
    rows_wr = np.concatenate([prob.offsets[m] + rng.integers(0, prob.n_m[m], 9) for m in range(prob.M)])
    perm = rng.permutation(prob.N)
    rows_rr = perm[np.argsort(prob.client_of_row[perm], kind="stable")]
    # and a batch shorter than the kernels' prefetch distance
    for rows in (rows_wr, rows_rr, rows_wr[:kernels.PREFETCH_ROWS // 4]):
        b = prob.batch(rows)
        X = rng.standard_normal((R, prob.d))
        W = rng.standard_normal((len(rows), R))
        S = np.stack([rng.choice(prob.d, 4, replace=False) for _ in range(prob.M)])
        S[2, 1] = S[2, 3]               # a repeated coordinate gets the whole sum twice
        Z, GT, G_at = _scipy_products(b, X, W, S)
        np.testing.assert_array_equal(kernels.rows_dot(*prob._csr, b.urows, np.ascontiguousarray(X.T)), Z)
        # the logistic weights: what SciPy's expit gives, from the same products
        weights = kernels.rows_weights(*prob._csr, b.urows, np.ascontiguousarray(X.T), b.y, b.inv_size, prob.row_loss)
        np.testing.assert_array_equal(weights, expit(Z * -b.y[:, None]) * -(b.y * b.inv_size)[:, None])
        args = (*prob._csr, b.urows, b.uclient, np.uint64(prob.d), np.uint64(prob.M), W)
        np.testing.assert_array_equal(kernels.rows_scatter(*args), GT)
        cols = (np.arange(prob.M)[:, None] * prob.d + S).ravel()
        np.testing.assert_array_equal(kernels.rows_scatter_at(*args, unsigned(cols)), G_at)
        # and the problem's gradients at S are its whole gradients there
        G, Gs = prob.batch_grads(b, X), prob.batch_grads_at(b, X, S)
        np.testing.assert_array_equal(Gs, G[:, np.arange(prob.M)[:, None], S])
        # a compacted batch (its own rows, and its columns for the sums at S): the same numbers
        c = prob.batch(rows).compact()
        np.testing.assert_array_equal(prob.batch_grads(c, X), G)
        np.testing.assert_array_equal(prob.batch_grads_at(c, X, S), Gs)


def test_compiled_loss_derivatives_equal_their_numpy_formulas():
    """``kernels.loss_derivative`` is SciPy's ``expit`` (logistic) and ``(z - y) s`` (squared),
    bit for bit, over eight decades of margins and at the edges of ``exp``."""
    from gradcomp.problems import kernels
    from gradcomp.problems.rows import LOGISTIC, SQUARED

    rng = np.random.default_rng(3)
    z = np.concatenate([rng.standard_normal(20_000) * scale for scale in (1e-4, 1e-2, 1.0, 30.0, 800.0)]
                       + [np.array([0.0, -0.0, 709.0, -709.0, 745.0, -746.0, np.inf, -np.inf])])
    Z = np.stack([z, -z, z[::-1]], axis=1)
    y = np.where(rng.random(len(z)) < 0.5, -1.0, 1.0)
    s = rng.uniform(1e-3, 2.0, len(z))
    expected = {LOGISTIC: expit(Z * -y[:, None]) * -(y * s)[:, None], SQUARED: (Z - y[:, None]) * s[:, None]}
    for loss, want in expected.items():
        np.testing.assert_array_equal(kernels.row_weights(Z.copy(), y, s, loss), want)


def test_newton_and_constants_against_dense_definitions():
    prob = make_problem(N=80, d=6, M=4, seed=5)
    x = newton(prob, 1e-12, 100)
    assert np.linalg.norm(prob.grad(x)) < 1e-12
    c = compute_constants(prob, x, 0.25)
    A = prob.A.toarray()
    W = np.diag(prob.row_weight / 4)
    assert c.L == pytest.approx(np.linalg.eigvalsh(A.T @ W @ A)[-1] + 2 * prob.lam, rel=1e-12)
    assert c.mu == pytest.approx(2 * prob.lam)
    # lambda from the condition number: L / mu = kappa + 2.
    assert c.L / c.mu == pytest.approx(10.0 + 2.0, rel=1e-12)
    assert c.L_max == pytest.approx(max((A**2).sum(1)) / 4 + 2 * prob.lam)
    grads = []
    for m in range(prob.M):
        lo, hi = prob.offsets[m], prob.offsets[m + 1]
        s = -prob.y[lo:hi] * expit(-prob.y[lo:hi] * (A[lo:hi] @ x))
        grads.append(s[:, None] * A[lo:hi] + 2 * prob.lam * x)
    zeta = np.mean([np.sum(g.mean(0) ** 2) for g in grads])
    sigma = np.mean([np.mean(np.sum((g - g.mean(0)) ** 2, axis=1)) for g in grads])
    assert c.zeta_sq == pytest.approx(zeta, rel=1e-10)
    assert c.sigma_sq == pytest.approx(sigma, rel=1e-10)
    assert c.b_m == [5, 5, 5, 5] and c.n_steps == 4


@pytest.mark.parametrize("R", [1, 7])
def test_block_products_equal_numpy_reduceat_bit_for_bit(R):
    """The loss's block products: numpy.multiply.reduceat over rows, blocks of 1 to 600 rows."""
    from gradcomp.problems import kernels

    rng = np.random.default_rng(3)
    T = 1.0 + rng.random((2000, R))
    starts = np.array([0, 1, 2, 600, 1200, 1999])
    np.testing.assert_array_equal(kernels.block_products(T, starts), np.multiply.reduceat(T, starts, axis=0))
    np.testing.assert_array_equal(kernels.block_products(T[:600, :1], starts[:1]), np.prod(T[:600, :1], axis=0)[None])
