"""Conformance, generated from the registries: every compressor meets the class it declares,
and every method runs with every compressor it accepts and refuses the others before any job.

Adding a compressor or a method (one module and its yaml) adds its cases here; nothing in
this file names one.
"""

from __future__ import annotations

import copy
import functools
import math
import subprocess
import sys

import numpy as np
import pytest

from gradcomp import compressors
from gradcomp.compressors import COMPRESSORS
from gradcomp.config import ConfigError, compose, conf_dir, to_plain
from gradcomp.methods import METHODS, refusal
from gradcomp.pipeline.identity import run_config
from gradcomp.problems.constants import compute_constants, newton

from conftest import REPO, make_problem, run_method

Z = 5.0                       # standard errors a Monte Carlo mean may stray
METHOD_YAMLS = sorted(p.stem for p in (conf_dir() / "method").glob("*.yaml"))
COMPRESSOR_YAMLS = sorted(p.stem for p in (conf_dir() / "compressor").glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def _composed(*overrides: str) -> dict:
    return to_plain(compose(list(overrides)))


def _config(group: str, name: str) -> dict:
    return copy.deepcopy(_composed(f"{group}={name}")[group])


def test_every_registered_plugin_has_a_yaml_and_every_yaml_a_plugin():
    assert {_config("compressor", n)["name"] for n in COMPRESSOR_YAMLS} == set(COMPRESSORS.names())
    algorithms = {_config("method", n)["algorithm"] for n in METHOD_YAMLS}
    assert algorithms == set(METHODS.names())


# --- compressors: the checks follow the declared class -------------------------------------------

def _vector(d: int, seed: int) -> np.ndarray:
    r = np.random.default_rng(seed)
    x = r.standard_normal(d) * np.exp(r.uniform(-2, 1, d))
    x[d // 3] = 0.0
    return x


@pytest.mark.parametrize("name", COMPRESSOR_YAMLS)
def test_every_compressor_meets_its_declared_class(name):
    d, n, N = 16, 4, 3000
    q = compressors.build(_config("compressor", name), d, n)
    rng = np.random.default_rng(7)
    if q.kind == "correlated":
        # heterogeneous clients; the AB inequality E||mean C_i(a_i) - abar||^2 <= A mean||a_i||^2 - B ||abar||^2
        A = np.stack([_vector(d, s) for s in range(n)])
        out = np.stack([q.compress(A, rng) for _ in range(N)])           # (N, n, d)
        abar = A.mean(axis=0)
        err = np.sum((out.mean(axis=1) - abar) ** 2, axis=1)
        bound = q.A * np.mean(np.sum(A**2, axis=1)) - q.B * np.sum(abar**2)
        se = err.std(ddof=1) / math.sqrt(N)
        assert err.mean() <= bound + Z * se + 1e-12, f"{q.name}: AB inequality"
        if q.individually_unbiased:
            mean, sd = out.mean(axis=0), out.std(axis=0, ddof=1) / math.sqrt(N)
            assert np.all(np.abs(mean - A) <= Z * sd + 1e-12), f"{q.name}: a client's message is biased"
            nmse = np.sum((out - A) ** 2, axis=2).mean(axis=0) / np.sum(A**2, axis=1)
            assert np.all(nmse <= q.client_omega * (1 + 0.05)), f"{q.name}: omega_i"
        return
    x = _vector(d, 1)
    out = q.compress(np.tile(x, (N, 1)), rng)                            # N independent draws
    err = np.sum((out - x) ** 2, axis=1) / np.sum(x**2)
    se = err.std(ddof=1) / math.sqrt(N)
    if q.kind == "unbiased":
        assert err.mean() <= q.omega + Z * se + 1e-12, f"{q.name}: E||C(x)-x||^2 > omega ||x||^2"
        if q.exactly_unbiased:
            sd = out.std(axis=0, ddof=1) / math.sqrt(N)
            assert np.all(np.abs(out.mean(axis=0) - x) <= Z * sd + 1e-12), f"{q.name}: biased"
    else:
        assert q.kind == "contractive"
        assert 0.0 < q.delta <= 1.0
        assert err.mean() <= 1.0 - q.delta + Z * se + 1e-12, f"{q.name}: E||C(x)-x||^2 > (1-delta) ||x||^2"


# --- methods x compressors ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    prob = make_problem(N=80, d=8, M=4, seed=3, kappa=50.0)
    xs = newton(prob, 1e-13, 100)
    return prob, xs, compute_constants(prob, xs, 0.25)


@pytest.mark.parametrize("compressor", COMPRESSOR_YAMLS)
@pytest.mark.parametrize("method", METHOD_YAMLS)
def test_every_method_runs_every_compressor_it_accepts(tiny, method, compressor):
    """A pair the method accepts runs a few rounds; a pair it refuses is refused when the run
    config is made (before any job), with a message that names both and says why."""
    prob, xs, c = tiny
    mcfg, ccfg = _config("method", method), _config("compressor", compressor)
    q = compressors.build(ccfg, prob.d, prob.M)
    why = refusal(mcfg, q)
    # the plan's check, on a problem whose d = 80 and M = 10 suit every compressor's own constraints
    full = {**copy.deepcopy(_composed("problem=ridge", "dataset=make_regression")), "method": mcfg, "compressor": ccfg}
    if why is not None:
        assert repr(compressor) in why or f"compressor={compressor}" in why, why
        with pytest.raises(ConfigError, match=method):
            run_config(full)
        return
    run_config(full)   # the plan accepts it too
    axes = METHODS[mcfg["algorithm"]].axes
    tr, theory = run_method(prob, xs, c, mcfg, q, {a: [1.0, 0.5] for a in axes}, epochs=2)
    assert set(theory) == set(axes) and all(v > 0 and math.isfinite(v) for v in theory.values())
    assert tr.rounds[-1] >= 1 and tr.dist_sq.shape[1] == 2
    live = tr.status == 0
    assert np.isfinite(tr.dist_sq[-1, live]).all()


@pytest.mark.parametrize("pair", [["method=diana", "compressor=natural_dithering"], ["method=qsgd", "compressor=qsgd"],
                                  ["method=ef21_sgd", "compressor=topk"], ["method=diana", "compressor=cq"]])
def test_gradcomp_run_with_any_compressor(pair, mirror, tmp_path):
    out = subprocess.run([sys.executable, "-m", "gradcomp.cli", "run", *pair, "dataset=mushrooms", "scale=smoke",
                          "run.epochs=2", f"results_root={tmp_path}"],
                         capture_output=True, text=True, cwd=REPO,
                         env={"PATH": "/usr/bin:/bin", "GRADCOMP_DATA_MIRROR": str(mirror), "HOME": str(tmp_path),
                              "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "final f_gap" in out.stdout
