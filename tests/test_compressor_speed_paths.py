"""The fast paths of stage 2 compute exactly what the plain code computes.

* The compiled NumPy path of the elementwise quantizers (``batch.fused_elementwise``,
  ``kernels.quantize``) must give the bytes of the namespace-generic path (same draws in
  the same order, same operations) and leave the stream where it does, across draw blocks,
  leading replica axes (including empty ones), zero rows, rows whose squares underflow,
  signed zeros, subnormals and d not a multiple of anything; and raise the same errors.
* Rand-k's samplers: the draws of the rr figures (k <= 6) are pinned to the values the
  original vectorised Floyd loop gave; the O(k) sampler that replaced the O(d) one for
  k^2 > d, k <= d/50 (and the O(k^2) loop for k > 32) changes those configurations'
  draws, which no committed result uses, and is checked to be uniform and without
  replacement.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

from gradcomp.compressors import (
    IQ, BitCost, Drive, InputError, NaturalCompression, NaturalDithering, RandK, StandardDithering, TernGrad,
    correlated, kernels, quantizers, rotation,
)
from gradcomp.compressors.randk import sample_subsets

C32 = BitCost(32, False)


def _quantizers(d):
    return [StandardDithering(d, 1, "l2", C32), StandardDithering(d, 5, "linf", C32), TernGrad(d, C32),
            NaturalCompression(d, 8, C32), NaturalDithering(d, 3, "l2", C32), NaturalDithering(d, 8, "linf", C32),
            IQ(d, C32)]


def _hard_input(shape):
    """Clients: 0 zero, 1 with signed zeros, 2 with a subnormal and a power of two, 3 whose
    squares underflow (l2 norm 0, entries not), 4 whose squares overflow (l2 norm inf)."""
    v = np.random.default_rng(0).standard_normal(shape) * np.exp(np.random.default_rng(1).uniform(-8, 3, shape))
    v[..., 0, :] = 0.0
    if shape[-1] > 3:
        v[..., 1, 1], v[..., 1, 2], v[..., 2, 0] = 0.0, -0.0, 1e-310
        v[..., 2, 3] = 2.0**-3
    v[..., 3, :] *= 1e-200
    v[..., 4, :] *= 1e200
    return v


@contextlib.contextmanager
def _generic(monkeypatch):
    """A context in which every quantizer (and DRIVE) takes its namespace-generic path."""
    with monkeypatch.context() as m:
        for mod in (quantizers, correlated, rotation):
            m.setattr(mod, "use_fused", lambda v: False)
        yield


def _same(fast, plain):
    assert fast.shape == plain.shape and fast.dtype == plain.dtype
    assert fast.tobytes() == plain.tobytes()


@pytest.mark.parametrize("d", [1, 5, 33, 2 * kernels.BLOCK + 3])
@pytest.mark.parametrize("lead", [(), (2,), (2, 3), (0,)])
@pytest.mark.parametrize("block", [7, kernels.BLOCK])
def test_fused_path_is_bit_identical_to_the_generic_path(monkeypatch, d, lead, block):
    monkeypatch.setattr(kernels, "BLOCK", block)  # 7: several draw blocks per row, one ragged
    v = _hard_input(lead + (5, d))
    for q in _quantizers(d):
        r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
        fast = q.compress(v, r1)
        with _generic(monkeypatch), np.errstate(invalid="ignore", over="ignore"):  # inf / inf in the overflowing row
            plain = q.compress(v, r2)
        _same(fast, plain)
        assert r1.random() == r2.random(), q.name  # the stream is left where the generic path leaves it


def test_fused_path_takes_any_layout_and_no_clients(monkeypatch):
    v = _hard_input((6, 5, 41))
    for x in (v[::2], np.swapaxes(v, 0, 1)[:, ::2].swapaxes(0, 1), v[..., ::3], np.asfortranarray(v[0]),
              np.zeros((2, 0, 41))):
        for q in _quantizers(x.shape[-1]):
            fast = q.compress(x, np.random.default_rng(3))
            with _generic(monkeypatch), np.errstate(invalid="ignore", over="ignore"):
                plain = q.compress(np.ascontiguousarray(x), np.random.default_rng(3))
            np.testing.assert_array_equal(fast, plain)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fused_path_refuses_non_finite_input_before_drawing(monkeypatch, bad):
    v = _hard_input((2, 5, 9))
    v[1, 4, 8] = bad
    for q in _quantizers(9):
        r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
        with pytest.raises(InputError) as fast:
            q.compress(v, r1)
        with _generic(monkeypatch), pytest.raises(InputError) as plain:
            q.compress(v, r2)
        assert str(fast.value) == str(plain.value)
        assert r1.random() == np.random.default_rng(1).random() == r2.random()


def test_compiled_norms_are_numpys_pairwise_sums():
    rng = np.random.default_rng(7)
    for d in [1, 7, 8, 9, 127, 128, 129, 135, 136, 257, 1000, 4096 + 5, 2**17 + 3, 2**20 - 1]:
        v = rng.standard_normal((2, d)) * np.exp(rng.uniform(-30, 30, (2, d)))
        for m in range(2):
            assert kernels._pairwise_sum(v[m], kernels.SQUARES) == np.sum(v * v, axis=-1)[m], d
            assert kernels._pairwise_sum(v[m], kernels.ABSOLUTES) == np.sum(np.abs(v), axis=-1)[m], d


@pytest.mark.parametrize("block", [4, 8, kernels.FWHT_BLOCK])
def test_compiled_fwht_is_bit_identical_to_the_butterflies(monkeypatch, block):
    """Every D from 1 to 2^10, and 2^15, 2^16 (levels across blocks, ending on one level or two)."""
    monkeypatch.setattr(kernels, "FWHT_BLOCK", block)
    rng = np.random.default_rng(11)
    for D in [2**t for t in range(11)] + [2**15, 2**16]:
        for lead in [(), (3,), (2, 1), (0,)]:
            if D > 2**10 and lead not in [(), (2, 1)]:
                continue
            z = rng.standard_normal(lead + (D,)) * np.exp(rng.uniform(-5, 5, lead + (D,)))
            before = z.copy()
            fast = rotation.fwht(np, z)
            assert z.tobytes() == before.tobytes()  # the input is not changed
            _same(fast, rotation.fwht_generic(np, z))


@pytest.mark.parametrize("d", [1, 2, 5, 37, 64, 1000, 2**12 + 1])
@pytest.mark.parametrize("lead", [(), (2,), (0,)])
def test_compiled_drive_is_bit_identical_to_the_generic_path(monkeypatch, d, lead):
    """Padding to D (signed zeros from 0 * s), a zero row, signed zeros, a subnormal, and
    a row whose squares underflow; across transform blocks (FWHT_BLOCK = 8)."""
    monkeypatch.setattr(kernels, "FWHT_BLOCK", 8)
    v = _hard_input(lead + (5, d))[..., :4, :]
    q = Drive(d, "hadamard", C32)
    r1, r2 = np.random.default_rng(2), np.random.default_rng(2)
    fast = q.compress(v, r1)
    with _generic(monkeypatch), np.errstate(invalid="ignore", divide="ignore"):
        monkeypatch.setattr(rotation, "fwht", rotation.fwht_generic)
        plain = q.compress(v, r2)
    _same(fast, plain)
    assert r1.random() == r2.random()


def _floyd_numpy(rng, n_sets, d, k):
    """Floyd's algorithm vectorised over the sets in NumPy: the sampler of every committed
    rr result before it was compiled (kept here as the reference)."""
    S = np.empty((n_sets, k), dtype=np.int64)
    for j, top in enumerate(range(d - k, d)):
        t = rng.integers(0, top + 1, size=n_sets)
        if j:
            t = np.where((S[:, :j] == t[:, None]).any(axis=1), top, t)
        S[:, j] = t
    return S


@pytest.mark.parametrize("n_sets,d,k", [(1, 1, 1), (20, 112, 2), (20, 123, 2), (20, 300, 6), (3, 4, 2),
                                        (50, 2**31, 7), (7, 2**33, 32), (40, 1024, 32)])
def test_compiled_floyd_draws_what_the_numpy_loop_drew(n_sets, d, k):
    """Same subsets and the stream in the same state afterwards, for d below and above the
    32-bit bounded draw, k = 1 and the largest k it serves."""
    r1, r2 = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(3):
        np.testing.assert_array_equal(sample_subsets(r1, n_sets, d, k), _floyd_numpy(r2, n_sets, d, k))
    assert r1.bit_generator.state == r2.bit_generator.state


def test_randk_draws_of_the_rr_figures_are_unchanged():
    """Values of the original sampler (commit 3095c44) for the rr settings, k = floor(0.02 d)."""
    assert sample_subsets(np.random.default_rng(2024), 3, 300, 6).tolist() == [
        [71, 63, 269, 296, 259, 54], [199, 94, 237, 23, 298, 274], [27, 91, 271, 42, 49, 107]]
    assert sample_subsets(np.random.default_rng(2024), 4, 112, 2).tolist() == [[26, 35], [75, 34], [10, 101], [23, 89]]


@pytest.mark.parametrize("d,k", [(3000, 40), (2000, 40), (200, 60)])  # choice, choice, random keys
def test_every_sampler_is_uniform_without_replacement(d, k):
    n = 4000
    S = sample_subsets(np.random.default_rng(3), n, d, k)
    assert all(len(set(row)) == k for row in S[:200]) and S.min() >= 0 and S.max() < d
    counts = np.bincount(S.ravel(), minlength=d)
    p = k / d  # each coordinate is kept with probability k/d
    z = (counts - n * p) / math.sqrt(n * p * (1 - p))
    assert np.abs(z).max() < 5.5  # Z bound over d coordinates
    chi2 = np.sum(z**2)
    assert abs(chi2 - d) < 6 * math.sqrt(2 * d)


def test_randk_compress_is_dense_zero_outside_the_sample():
    d, k = 2**16, 64
    v = np.random.default_rng(4).standard_normal((2, 3, d))
    q = RandK(d, k, C32)
    out = q.compress(v, np.random.default_rng(6))
    S = q.sample(np.random.default_rng(6), 3)
    for m in range(3):
        kept = np.zeros(d, bool)
        kept[S[m]] = True
        np.testing.assert_array_equal(out[:, m, kept], (d / k) * v[:, m, kept])
        assert not out[:, m, ~kept].any()
