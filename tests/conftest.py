"""Shared fixtures: a tiny synthetic federated problem, and the real-data mirror if present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from gradcomp.problems.logreg import problem_from_clients
from gradcomp.seeding import stream

REPO = Path(__file__).resolve().parents[1]


def mirror_dir() -> Path | None:
    env = os.environ.get("GRADCOMP_DATA_MIRROR")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "datasets" / "libsvm"]:
        if cand.is_dir() and (cand / "a9a").exists():
            return cand
    return None


@pytest.fixture(scope="session")
def mirror() -> Path:
    m = mirror_dir()
    if m is None:
        pytest.skip("no LIBSVM mirror: set GRADCOMP_DATA_MIRROR or place ../shared/datasets/libsvm")
    return m


def make_problem(N=60, d=8, M=4, density=0.5, seed=0, kappa=10.0):
    rng = np.random.default_rng(seed)
    A = sp.random(N, d, density=density, random_state=rng, format="csr")
    A.data = rng.standard_normal(A.nnz)
    y = np.where(rng.random(N) < 0.5, -1.0, 1.0)
    bounds = np.linspace(0, N, M + 1).astype(int)
    bounds[-1] = N
    parts = [np.arange(bounds[m], bounds[m + 1]) for m in range(M)]
    return problem_from_clients(A, y, parts, kappa)


@pytest.fixture
def tiny():
    return make_problem()


def minibatch_sgd_reference(prob, b_m, gamma, rounds, mean_grad):
    """Plain minibatch SGD with the methods' with-replacement sampling stream and seeded x0:
    ``x <- x - gamma mean_grad(rows, x)``, one minibatch of ``b_m[m]`` rows per client."""
    rng_s = stream(0, "sampling")
    x = stream(0, "x0").standard_normal(prob.d)
    start = np.repeat(prob.offsets[:-1], b_m)
    size = np.repeat(prob.n_m, b_m)
    for _ in range(rounds):
        rows = start + rng_s.integers(0, size)
        x = x - gamma * mean_grad(rows, x)
    return x


class Dense:
    """A compressor seen without its sparse sample path: the method takes its dense path
    (``compress``), which draws the same random numbers."""

    def __init__(self, q):
        self.q = q

    def __getattr__(self, name):
        return getattr(self.q, name)

    sparse_path = False


def run_method(prob, xs, c, mcfg, comp, mult, epochs=5, seed=0, steps=None, stop=None, stop_rel=None,
               dense=False, record_every=1, metrics=("f_gap", "dist_sq")):
    """One run of the method config ``mcfg`` with the replicas ``mult`` (axis -> multipliers, or
    the multipliers of gamma); stepsizes are ``mult * theory`` unless ``steps`` gives them.

    Returns ``(trace, theory)``.
    """
    from gradcomp import methods

    mcfg = {"name": "test", "alpha_scale": None, "reshuffle": "none", "shifts": "none", **mcfg}
    if not isinstance(mult, dict):
        mult = {"gamma": mult}
    mult = {a: np.asarray(v, dtype=float) for a, v in mult.items()}
    R = len(next(iter(mult.values())))
    x0 = stream(seed, "x0").standard_normal(prob.d)
    m, theory = methods.build(mcfg, prob, c, Dense(comp) if dense else comp, R,
                              rng_sampling=stream(seed, "sampling"), rng=stream(seed, "compressor"), x0=x0,
                              x_star=xs, seed=seed, bits_per_float=64)
    if steps is None:
        steps = {a: theory[a] * mult[a] for a in mult}
    steps = {a: np.asarray(v, dtype=float) for a, v in steps.items()}
    tr = methods.optimize(m, x0=x0, steps=steps, multipliers=mult, x_star=xs, f_star=prob.loss(xs),
                          epochs=epochs, record_every=record_every, stop_dist_sq=stop, stop_rel_dist_sq=stop_rel,
                          diverge_factor=1e4, metrics=metrics)
    return tr, theory
