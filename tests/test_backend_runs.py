"""backend=cupy runs: a method's compressor runs in the device namespace (Method.send), the
method's arithmetic stays on the host. Without a GPU, the strict stand-in namespace of
tests/strict_xp.py plays the device: it is NumPy underneath, so a device run must give the
NumPy run's trace exactly (the compress path), and any NumPy-only call on device data, or a
device array left in the method's host arithmetic, raises."""

from __future__ import annotations

import numpy as np
import pytest

from gradcomp import methods
from gradcomp.compressors import BitCost, RandK, StandardDithering, UnbiasedSparseDithering
from gradcomp.problems.constants import compute_constants, newton
from gradcomp.registry import ConfigError
from gradcomp.seeding import stream

from conftest import Dense, make_problem
from strict_xp import NAMESPACE, StrictArray
from test_methods import CFG

C64 = BitCost(64, False)


class Spy:
    """A compressor seen through: records the type of every batch ``compress``/``encode`` gets."""

    def __init__(self, q):
        self.q, self.seen = q, []

    def __getattr__(self, name):
        return getattr(self.q, name)

    def compress(self, v, rng):
        self.seen.append(type(v))
        return self.q.compress(v, rng)

    def encode(self, v, rng):
        self.seen.append(type(v))
        return self.q.encode(v, rng)


@pytest.fixture(scope="module")
def setup():
    prob = make_problem(N=200, d=10, M=4, seed=11, kappa=100.0)
    xs = newton(prob, 1e-13, 100)
    return prob, xs, compute_constants(prob, xs, 0.1)


def run(setup, name, comp, mult, xp=None, epochs=6, **over):
    """``(trace, method)`` of method ``CFG[name]`` with ``comp`` in the namespace ``xp``."""
    prob, xs, c = setup
    mcfg = {"name": "test", "alpha_scale": None, "reshuffle": "none", "shifts": "none", **CFG[name], **over}
    mult = np.asarray(mult, dtype=float)
    x0 = stream(0, "x0").standard_normal(prob.d)
    m, theory = methods.build(mcfg, prob, c, comp, len(mult), rng_sampling=stream(0, "sampling"),
                              rng=stream(0, "compressor"), x0=x0, x_star=xs, seed=0, bits_per_float=64, xp=xp)
    tr = methods.optimize(m, x0=x0, steps={"gamma": theory["gamma"] * mult}, multipliers={"gamma": mult},
                          x_star=xs, f_star=prob.loss(xs), epochs=epochs, record_every=1, stop_dist_sq=None,
                          stop_rel_dist_sq=None, diverge_factor=1e4, metrics=("f_gap", "dist_sq"))
    return tr, m


def assert_same_trace(a, b):
    for key in ("f_gap", "dist_sq", "bits", "rounds", "status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


@pytest.mark.parametrize("name", ["diana_rr", "q_rr", "diana"])
def test_randk_on_the_device_equals_the_numpy_compress_path(setup, name):
    """Rand-k on a device takes the compress path (the coordinate path is host-only): the
    trace equals NumPy's compress path bit for bit, and NumPy's coordinate path to rounding."""
    spy = Spy(RandK(10, 3, C64))
    dev, m = run(setup, name, spy, [0.5, 1.0, 4.0], xp=NAMESPACE)
    assert not m.uses_coordinates
    assert spy.seen and all(t is StrictArray for t in spy.seen)   # compressed on the device
    dense, _ = run(setup, name, Dense(RandK(10, 3, C64)), [0.5, 1.0, 4.0])
    assert_same_trace(dev, dense)
    coords, _ = run(setup, name, RandK(10, 3, C64), [0.5, 1.0, 4.0])
    np.testing.assert_allclose(dev.dist_sq, coords.dist_sq, rtol=1e-9)
    np.testing.assert_allclose(dev.f_gap, coords.f_gap, rtol=1e-8, atol=1e-14)


def test_dithering_on_the_device_equals_numpy_exactly(setup):
    spy = Spy(StandardDithering(10, 2, "l2", C64))
    dev, _ = run(setup, "diana_rr", spy, [0.5, 2.0], xp=NAMESPACE)
    assert spy.seen and all(t is StrictArray for t in spy.seen)
    host, _ = run(setup, "diana_rr", StandardDithering(10, 2, "l2", C64), [0.5, 2.0])
    assert_same_trace(dev, host)
    assert dev.f_gap[-1, 0] < dev.f_gap[0, 0]   # and it does optimise


def test_variable_length_code_on_the_device_equals_numpy_exactly(setup):
    """encode runs on the device too; the bits of each message come back to the host."""
    spy = Spy(UnbiasedSparseDithering(10, 0.25, C64))
    dev, m = run(setup, "diana", spy, [1.0], xp=NAMESPACE, epochs=3)
    assert spy.seen and all(t is StrictArray for t in spy.seen)
    assert isinstance(m.bits(), float)
    host, _ = run(setup, "diana", UnbiasedSparseDithering(10, 0.25, C64), [1.0], epochs=3)
    assert_same_trace(dev, host)


def test_numpy_backend_keeps_the_coordinate_path(setup):
    """On NumPy a sparsifier's rounds compute only the kept coordinates: compress is never
    called (and the device path, which calls it, is a different path)."""
    for xp in (None, np):
        spy = Spy(RandK(10, 3, C64))
        _, m = run(setup, "diana_rr", spy, [1.0], xp=xp, epochs=2)
        assert m.uses_coordinates and m.xp is np
        assert spy.seen == []
    spy = Spy(StandardDithering(10, 2, "l2", C64))
    run(setup, "diana_rr", spy, [1.0], epochs=1)
    assert spy.seen and all(t is np.ndarray for t in spy.seen)   # no copies, no wrappers on NumPy


def test_send_returns_host_arrays_and_numpy_send_is_no_copy(setup):
    from types import SimpleNamespace

    V = np.random.default_rng(3).standard_normal((2, 4, 10))
    _, dev = run(setup, "qsgd", StandardDithering(10, 2, "l2", C64), [1.0, 2.0], xp=NAMESPACE, epochs=1)
    out = dev.send(V)
    assert type(out) is np.ndarray and out.shape == V.shape
    _, host = run(setup, "qsgd", StandardDithering(10, 2, "l2", C64), [1.0, 2.0], epochs=1)
    host.compressor = SimpleNamespace(variable_length=False, compress=lambda v, rng: v)
    assert host.send(V) is V          # on NumPy the batch goes to the compressor and back as is
    dev.compressor = host.compressor
    assert dev.send(V) is not V       # on a device it went there and back
    np.testing.assert_array_equal(dev.send(V), V)


# ---- the config path: backend=cupy through `gradcomp run`'s execute --------------------------


def _use_strict_for_cupy(monkeypatch):
    import gradcomp.backend as backend
    import gradcomp.pipeline.run as run_mod

    real = backend.get_namespace

    def fake(name):
        return NAMESPACE if name == "cupy" else real(name)

    monkeypatch.setattr(backend, "get_namespace", fake)
    monkeypatch.setattr(run_mod, "get_namespace", fake)


def test_backend_cupy_without_cupy_is_a_plan_time_config_error(monkeypatch):
    import sys

    from gradcomp.config import compose, to_plain
    from gradcomp.pipeline.identity import run_config

    monkeypatch.setitem(sys.modules, "cupy", None)   # `import cupy` fails, as where it is not installed
    with pytest.raises(ConfigError, match=r"backend=cupy needs CuPy and a CUDA GPU.*backend=numpy"):
        run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", "method=diana_rr", "backend=cupy"])))
    _use_strict_for_cupy(monkeypatch)
    cfg = run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", "method=diana_rr", "backend=cupy"])))
    assert cfg["backend"] == "cupy"


def test_a_cupy_run_equals_the_numpy_run(tmp_path, mirror, monkeypatch):
    """The whole path: cfg['backend'] -> the namespace -> Method.send, on a real dataset."""
    from gradcomp.config import compose, to_plain
    from gradcomp.pipeline.identity import run_config
    from gradcomp.pipeline.run import execute

    _use_strict_for_cupy(monkeypatch)
    data = {"mirror": str(mirror), "cache_dir": str(tmp_path / "cache"), "download": False}
    seen = []
    real_send = methods.Method.send

    def send(self, V):
        seen.append(self.xp)
        return real_send(self, V)

    monkeypatch.setattr(methods.Method, "send", send)
    traces = {}
    for be in ("numpy", "cupy"):
        cfg = run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", "method=diana_rr",
                                           "stepsize.grid=[0.5,2.0]", "run.epochs=2", f"backend={be}"])))
        seen.clear()
        traces[be], _ = execute(cfg, data, tmp_path / "results")
        if be == "numpy":
            assert seen == []           # Rand-k on NumPy: the coordinate path, no send
        else:
            assert seen and all(x is NAMESPACE for x in seen)
    a, b = traces["numpy"], traces["cupy"]
    np.testing.assert_array_equal(a.rounds, b.rounds)
    np.testing.assert_array_equal(a.bits, b.bits)
    np.testing.assert_allclose(b.f_gap, a.f_gap, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(b.dist_sq, a.dist_sq, rtol=1e-9)
