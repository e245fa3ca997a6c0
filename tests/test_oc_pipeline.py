"""paper oc on the pipeline: variable-length codes in a run, CGD and its stepsize rule, and
the claim machinery oc/fig1 uses."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.datasets import make_regression

from gradcomp.compressors import BitCost, SphericalCompression, TopK, UnbiasedSparseDithering
from gradcomp.compressors.sparse_dithering import SparseDithering
from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.methods import RULES
from gradcomp.pipeline.identity import run_config
from gradcomp.problems.ridge import RidgeRegression
from gradcomp.problems.rows import group_by_client
from gradcomp.theory import compression_bounds as cb
from gradcomp.verify import claims as claims_mod

from conftest import run_method

COST = BitCost(32, False)
CGD = dict(algorithm="cgd", sampling="full", reshuffle="none", shift="zero", stepsize_rule="cgd")


@pytest.fixture(scope="module")
def one_node():
    A, y = make_regression(n_samples=30, n_features=6, random_state=3)
    A_c, y_c, offsets = group_by_client(A, y, [np.arange(30)])
    prob = RidgeRegression(A_c, y_c, offsets, lam=0.1, client_scale=None)
    xs = prob.solve({})
    return prob, xs, prob.constants(xs, {"batch_fraction": 1.0})


def test_a_run_counts_the_actual_code_lengths(one_node):
    """With a variable-length code the trace's bits are the messages' own lengths: each
    round's increment is a whole number of bits, they vary, and none exceeds the code's
    worst case (deterministic Sparse Dithering) or falls below the norm's float (Spherical)."""
    prob, xs, c = one_node
    sd = SparseDithering(prob.d, 0.1, COST)
    tr, _ = run_method(prob, xs, c, CGD, sd, [1.0], epochs=40)
    inc = np.diff(tr.bits)
    assert np.all(inc == np.round(inc)) and len(np.unique(inc)) > 1
    assert inc.max() <= sd.bits_per_client()
    sph = SphericalCompression(prob.d, 0.4, COST)
    tr, _ = run_method(prob, xs, c, CGD, sph, [1.0], epochs=60)
    inc = np.diff(tr.bits)
    k = sph.rice_k
    assert np.all(inc >= 32 + 1 + k) and len(np.unique(inc)) > 1
    # the mean length of the run's messages is near the code's expectation
    assert abs(inc.mean() - sph.bits_per_client()) < 4 * max(inc.std() / np.sqrt(inc.size), 0.1)


def test_cgd_takes_biased_compressors_with_proposition_1s_stepsize(one_node):
    prob, xs, c = one_node
    rule = RULES["cgd"]
    assert rule(c, TopK(prob.d, 2, COST), {})["gamma"] == pytest.approx(1.0 / c.L)
    q = UnbiasedSparseDithering(prob.d, 0.25, COST)
    assert rule(c, q, {})["gamma"] == pytest.approx(1.0 / (1.25 * c.L))
    tr, _ = run_method(prob, xs, c, CGD, SparseDithering(prob.d, 0.1, COST), [1.0], epochs=400)
    # C in C(0.1) and gamma = 1/L: a linear rate, so x* to 1e-8 within 400 iterations here
    assert tr["dist_sq"][-1, 0] < 1e-8 * tr["dist_sq"][0, 0]


def test_a_variable_length_code_runs_one_stepsize_per_run():
    cfg = ["method=cgd", "dataset=bodyfat_scale", "problem=ridge", "problem.n_clients=1", "problem.scale=mean",
           "problem.lam=0.01", "compressor=sparse_dithering"]
    run_config(to_plain(compose(cfg)))
    with pytest.raises(ConfigError, match="variable-length code"):
        run_config(to_plain(compose([*cfg, "stepsize.grid=[1.0,2.0]"])))
    # a (d, alpha) whose search would take 2^94 candidates is refused before any job
    with pytest.raises(ConfigError, match="max_expected_draws"):
        run_config(to_plain(compose(["method=cgd", "dataset=mushrooms", "compressor=spherical",
                                     "compressor.alpha=0.2"])))


def _reach_csv(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "curve", "label", "value", "multiplier", "bytes_total_to_level",
                    "lowest_dist_sq_rel", "status", "shown", "best_of_sweep"])
        w.writerows(rows)


def test_reach_less_with_a_factor_and_a_sweeps_best(tmp_path):
    p = tmp_path / "reach.csv"
    _reach_csv(p, [["a", "new", "", "", 1, 1000.0, 1e-5, "stopped", 1, 0],
                   ["a", "basic", "", "", 1, 4500.0, 1e-5, "stopped", 1, 0],
                   ["a", "topk_1", "", 1, 1, 3000.0, 1e-5, "stopped", 0, 0],
                   ["a", "topk_2", "", 2, 1, 2000.0, 1e-5, "stopped", 0, 1]])
    ctx = {"figures": {"x/f": {"outputs": {"reach": str(p)}}}}
    check = claims_mod.CLAIM_KINDS["reach_less"]
    ok, text = check(ctx, {"artifact": "x/f", "params": {"factor": 4.0, "pairs": [["new", "basic"]]}})
    assert ok and "ratio 4.50" in text
    assert not check(ctx, {"artifact": "x/f", "params": {"factor": 5.0, "pairs": [["new", "basic"]]}})[0]
    ok, text = check(ctx, {"artifact": "x/f", "params": {"pairs": [["new", "best:topk"]]}})
    assert ok and "topk_2" in text
    assert not check(ctx, {"artifact": "x/f", "params": {"factor": 2.5, "pairs": [["new", "best:topk"]]}})[0]


def test_retired_claims_are_listed_with_their_reason(tmp_path):
    doc = {"claims": {"paper": "oc", "claims": [], "retired": [{"id": "old_guess", "why": "tested a guess"}]},
           "scale": {"name": "t", "epochs": 1}, "figures": {}, "tables": {}, "studies": {}}
    out = tmp_path / "V.md"
    claims_mod.write_report([doc], str(out))
    assert "## Retired claims" in out.read_text() and "`old_guess` (oc): tested a guess" in out.read_text()


def test_the_spherical_guarantee_is_the_average_case_bound_plus_3():
    assert cb.spherical_bits_bound(14, 0.15) == pytest.approx(cb.aca_bits(0.15, 14) + 3.0)
    assert cb.spherical_expected_bits(0.15, 14) < cb.spherical_bits_bound(14, 0.15)
