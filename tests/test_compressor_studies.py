"""Compressor studies: the lower bounds, the claim kinds on hand-made CSVs, and one tiny
study end to end (the Snakemake smoke test builds all of them)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from gradcomp.theory import compression_bounds as cb
from gradcomp.verify import claims as claims_mod


def test_bounds_are_consistent_and_spherical_sits_just_above_the_average_bound():
    d = 64
    for b in (1, 4, 16, 64, 256):
        avg = cb.average_case_bound(b, d)
        assert 0 < avg < 1
        assert avg >= cb.average_case_bound(b + 8, d)  # more bits, smaller bound
    # large b: the average bound approaches 2^(-2b/(d-1)), the rate of 4^(-b/d)
    b = 2048
    assert cb.average_case_bound(b, d) == pytest.approx(2.0 ** (-2 * b / (d - 1)), rel=0.5)
    for b in (2, 6, 10):  # Spherical Compression: b index bits + a sign bit, the scale free
        sc, lb = cb.spherical_error(b, d), cb.average_case_bound(b + 1, d)
        assert lb <= sc <= 1.1 * lb
    assert float(cb.uncertainty_bound(1.0)) == 0.25


def test_spherical_error_matches_monte_carlo():
    from gradcomp.compressors import BitCost, SphericalCompression

    d, b, N = 32, 5, 3000
    q = SphericalCompression(d, b, BitCost(32, False))
    X = np.random.default_rng(0).standard_normal((N, d))
    err = np.sum((q.compress(X, np.random.default_rng(1)) - X) ** 2, axis=1) / np.sum(X * X, axis=1)
    assert abs(err.mean() - cb.spherical_error(b, d)) < 5 * err.std() / math.sqrt(N)


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _ctx(path):
    return {"studies": {"x/t": {"outputs": {"csv": str(path)}}}}


def test_study_compare_uses_standard_errors_and_groups(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, ["label", "input", "v", "se", "ref"], [["a", "g", 1.0, 0.1, 1.2], ["a", "h", 2.0, 0.1, 1.2],
                                                      ["b", "g", 0.5, 0.0, 1.0]])
    claim = {"artifact": "x/t", "params": {"value": "v", "se": "se", "op": "<=", "ref": "ref",
                                           "where": {"label": "a", "input": "g"}}}
    assert claims_mod.CLAIM_KINDS["study_compare"](_ctx(p), claim)[0]
    claim["params"]["where"] = {"label": "a"}
    ok, text = claims_mod.CLAIM_KINDS["study_compare"](_ctx(p), claim)
    assert not ok and "failing" in text
    grouped = {"artifact": "x/t", "params": {"value": "v", "se": "se", "op": ">=", "ref": "ref", "group_by": "label"}}
    ok, text = claims_mod.CLAIM_KINDS["study_compare"](_ctx(p), grouped)  # a's max 2.0 >= 1.2; b's 0.5 < 1.0
    assert not ok and "b:" in text
    assert claims_mod.CLAIM_KINDS["study_compare"](_ctx(p), {**grouped, "params": {**grouped["params"], "factor": 0.5}})[0]


def test_study_ratio_band(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, ["compressor", "n", "m", "se"], [["IQ", 4, 8.0, 0.01], ["CQ", 4, 1.0, 0.01],
                                               ["IQ", 16, 16.0, 0.01], ["CQ", 16, 1.0, 0.01]])
    claim = {"artifact": "x/t", "params": {"by": "n", "value": "m", "se": "se", "band": [0.5, 2.0],
                                           "numerator": {"compressor": "IQ"}, "denominator": {"compressor": "CQ"}}}
    ok, text = claims_mod.CLAIM_KINDS["study_ratio_band"](_ctx(p), claim)
    assert ok, text  # 8/1 = 2 x 4, 16/1 = 1 x 16
    claim["params"]["band"] = [0.5, 1.5]
    assert not claims_mod.CLAIM_KINDS["study_ratio_band"](_ctx(p), claim)[0]


def test_study_plan_composes_entries_and_picks_draws_by_scale():
    from gradcomp.pipeline.plan import build_plan

    plan = build_plan(["scale=smoke"])
    sp = plan.studies["oc/bits-vs-error"]
    assert sp.doc["draws"] == 8 and sp.outputs["png"].endswith("oc/bits-vs-error.png")
    labels = [e["label"] for e in sp.doc["entries"]]
    assert "Rand-k k=16" in labels and len(labels) == len(set(labels))
    rk = next(e for e in sp.doc["entries"] if e["label"] == "Rand-k k=16")["compressor"]
    assert rk["k"] == 16 and rk["bits_per_float"] == 32
    assert {"oc", "cq"} <= set(plan.papers())
    assert set(plan.claims) >= {"oc", "cq"}


def test_a_study_claim_is_evaluated_not_reported_as_unbuilt(tmp_path):
    # regression: evaluate() once looked for the artifact among figures and tables only
    p = tmp_path / "t.csv"
    _write(p, ["label", "v", "se", "ref"], [["a", 1.0, 0.1, 1.2]])
    claim = {"id": "c", "source": "s", "statement": "st", "kind": "study_compare", "artifact": "x/t",
             "params": {"value": "v", "se": "se", "op": "<=", "ref": "ref"}, "tolerance": "t",
             "expect": "pass", "note": ""}
    doc = {**_ctx(p), "claims": {"paper": "x", "claims": [claim]}, "scale": {"name": "t", "epochs": 1}}
    (r,) = claims_mod.evaluate(doc)
    assert r["outcome"] == "PASS" and r["binding"]
