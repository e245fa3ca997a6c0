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
    for d in (4, 14, 64, 256):
        bits = np.array([cb.aca_bits(a, d) for a in (0.05, 0.1, 0.2, 0.4, 0.8)])
        assert np.all(np.diff(bits) < 0)  # a larger error needs fewer bits
        for a in (0.1, 0.25, 0.5):
            aca = cb.aca_bits(a, d)
            assert cb.wca_bits(a, d) == pytest.approx(aca + math.log2(d))
            assert aca < cb.spherical_expected_bits(a, d) < aca + 3  # B < -log P + 3 (poster)
            assert cb.alpha_for_bits(aca, d, "aca") == pytest.approx(a, rel=1e-9)
    # large d: -log2 P / d approaches the uncertainty rate (1/2) log2(1/alpha)
    assert cb.aca_bits(0.1, 1000) / 1000 == pytest.approx(0.5 * math.log2(10), abs=0.01)
    assert float(cb.uncertainty_bound(1.0)) == 0.25
    assert cb.uncertainty_bits(0.25, 10) == 10.0
    # Sparse Dithering's closed forms (spec §4): 4.82 d printed, 3.35 d corrected
    assert cb.sd_bits_printed(10**5, 0.1) / 10**5 == pytest.approx(4.82, abs=0.01)
    assert cb.sd_bits_corrected(10**5, 0.1) / 10**5 == pytest.approx(3.35, abs=0.01)
    assert cb.sd_randomized_bits(100, 0.25) == pytest.approx((math.log2(3) + 1) * 100 + math.log2(100) + 30)


def test_spherical_mean_code_length_matches_the_theory():
    from gradcomp.compressors import BitCost, SphericalCompression

    d, alpha, N = 8, 0.4, 3000
    q = SphericalCompression(d, alpha, BitCost(32, False))
    X = np.random.default_rng(0).standard_normal((N, d))
    out, bits = q.encode(X, np.random.default_rng(1))
    err = np.sum((out - X) ** 2, axis=1) / np.sum(X * X, axis=1)
    assert err.max() <= alpha * (1 + 1e-12)
    assert abs(bits.mean() - cb.spherical_expected_bits(alpha, d) - 32) < 5 * bits.std() / math.sqrt(N)


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
    assert sp.doc["draws"] == 6 and sp.outputs["png"].endswith("oc/bits-vs-error.png")
    labels = [e["label"] for e in sp.doc["entries"]]
    assert "Rand-k k=7" in labels and len(labels) == len(set(labels))
    rk = next(e for e in sp.doc["entries"] if e["label"] == "Rand-k k=7")["compressor"]
    assert rk["k"] == 7 and rk["bits_per_float"] == 32
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
