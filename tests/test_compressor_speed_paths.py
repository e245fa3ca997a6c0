"""The fast paths of stage 2 compute exactly what the plain code computes.

* The blocked NumPy path of the elementwise quantizers (``batch.fused_elementwise``) must
  give the bytes of the namespace-generic path (same draws, same ufuncs in the same
  order), across block boundaries, leading replica axes, zero rows, signed zeros and
  subnormals.
* Rand-k's samplers: the draws of the rr figures (k <= 6) are pinned to the values the
  original vectorised Floyd loop gave; the O(k) sampler that replaced the O(d) one for
  k^2 > d, k <= d/50 (and the O(k^2) loop for k > 32) changes those configurations'
  draws, which no committed result uses, and is checked to be uniform and without
  replacement.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcomp.compressors import (
    IQ, BitCost, NaturalCompression, NaturalDithering, RandK, StandardDithering, TernGrad, batch, correlated,
    quantizers,
)
from gradcomp.compressors.randk import sample_subsets

C32 = BitCost(32, False)


def _quantizers(d):
    return [StandardDithering(d, 1, "l2", C32), StandardDithering(d, 5, "linf", C32), TernGrad(d, C32),
            NaturalCompression(d, 8, C32), NaturalDithering(d, 3, "l2", C32), NaturalDithering(d, 8, "linf", C32),
            IQ(d, C32)]


def _hard_input(shape):
    v = np.random.default_rng(0).standard_normal(shape) * np.exp(np.random.default_rng(1).uniform(-8, 3, shape))
    v[..., 0, :] = 0.0  # a zero client
    if shape[-1] > 3:
        v[..., 1, 1], v[..., 1, 2], v[..., 2, 0] = 0.0, -0.0, 1e-310  # zeros and a subnormal
        v[..., 2, 3] = 2.0**-3  # an exact power of two
    return v


@pytest.mark.parametrize("d", [1, 5, 33])
@pytest.mark.parametrize("lead", [(), (2,)])
def test_fused_path_is_bit_identical_to_the_generic_path(monkeypatch, d, lead):
    monkeypatch.setattr(batch, "CHUNK", 7)  # several blocks, one ragged
    v = _hard_input(lead + (3, d))
    for q in _quantizers(d):
        fast = q.compress(v, np.random.default_rng(5))
        with monkeypatch.context() as m:
            for mod in (quantizers, correlated):
                m.setattr(mod, "use_fused", lambda xp, v: False)
            plain = q.compress(v, np.random.default_rng(5))
        assert fast.tobytes() == plain.tobytes(), q.name


def test_fused_path_leaves_the_stream_where_the_generic_path_does(monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 4)
    v = _hard_input((3, 10))
    for q in _quantizers(10):
        r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
        q.compress(v, r1)
        with monkeypatch.context() as m:
            for mod in (quantizers, correlated):
                m.setattr(mod, "use_fused", lambda xp, v: False)
            q.compress(v, r2)
        assert r1.random() == r2.random(), q.name


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
