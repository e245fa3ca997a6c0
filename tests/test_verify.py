import json

import pytest

from gradcomp.verify.claims import check_report, evaluate, printed_unit, recheck, write_report
from gradcomp.verify.manifest import check_manifest, write_manifest


@pytest.mark.parametrize("printed,unit", [("2.59", 0.01), ("28.5", 0.1), ("7.85e-5", 1e-7), ("3.5", 0.1), ("2", 1.0)])
def test_printed_unit(printed, unit):
    assert printed_unit(printed) == pytest.approx(unit)


def _doc(tmp_path, claims, table_rows=None, sel_rows=None):
    t6 = tmp_path / "t6.csv"
    t6.write_text("dataset,L,k\n" + "".join(f"{r}\n" for r in (table_rows or [])))
    cc = tmp_path / "cc.csv"
    cc.write_text("client,label_minus_1,label_plus_1\n1,5,0\n2,3,2\n3,0,5\n")
    sel = tmp_path / "sel.csv"
    sel.write_text("dataset,method,best_f_gap,selected\n" + "".join(f"{r}\n" for r in (sel_rows or [])))
    return {"claims": {"paper": "x", "claims": claims}, "scale": {"name": "t", "epochs": 1},
            "tables": {"t6": {"outputs": {"csv": str(t6)}}, "cc": {"outputs": {"csv": str(cc)}}},
            "figures": {"f": {"outputs": {"selection": str(sel)}}}}


def _claim(kind, artifact, params, expect="pass"):
    return {"id": kind, "source": "s", "statement": "st", "kind": kind, "artifact": artifact,
            "params": params, "tolerance": "t", "expect": expect, "note": ""}


def test_table_value_within_one_printed_unit(tmp_path):
    doc = _doc(tmp_path, [_claim("table_value", "t6", {"row": "a", "column": "L", "printed": "2.59"}),
                          _claim("table_value", "t6", {"row": "b", "column": "L", "printed": "2.59"})],
               table_rows=["a,2.5866,2", "b,2.5701,2"])
    res = evaluate(doc)
    assert [r["outcome"] for r in res] == ["PASS", "FAIL"]


def test_class_counts_report_the_mismatching_clients(tmp_path):
    doc = _doc(tmp_path, [_claim("class_counts", "cc", {"blocks": [[1, 1, 5, 0], [2, 3, 0, 5]]})])
    (r,) = evaluate(doc)
    assert r["outcome"] == "FAIL" and "client 2" in r["measured"] and "client 3" not in r["measured"]


def test_figure_orderings(tmp_path):
    rows = ["p,a,1e-7,1", "p,b,5e-7,1", "p,c,2e-6,1", "p,a,1e-9,0"]  # unselected rows are ignored
    doc = _doc(tmp_path, [_claim("fig_lowest", "f", {"method": "a", "tie_factor": 2.0}),
                          _claim("fig_lowest", "f", {"method": "c", "tie_factor": 2.0}),
                          _claim("fig_close", "f", {"a": "a", "b": "b", "decades": 1.0}),
                          _claim("fig_close", "f", {"a": "a", "b": "c", "decades": 1.0}),
                          _claim("fig_above", "f", {"upper": ["c"], "lower": ["a", "b"]})], sel_rows=rows)
    assert [r["outcome"] for r in evaluate(doc)] == ["PASS", "FAIL", "PASS", "FAIL", "PASS"]


def test_fig_spread_bounds_a_group_of_methods(tmp_path):
    rows = ["p,a,1e-3,1", "p,b,5e-3,1", "p,c,9e-3,1", "q,a,1e-3,1", "q,b,2e-3,1", "q,c,3e-2,1"]
    doc = _doc(tmp_path, [_claim("fig_spread", "f", {"methods": ["a", "b", "c"], "decades": 1.0}),
                          _claim("fig_spread", "f", {"methods": ["a", "b"], "decades": 1.0})], sel_rows=rows)
    first, second = evaluate(doc)
    assert first["outcome"] == "FAIL" and "q: " in first["measured"] and "1.48 decades (no)" in first["measured"]
    assert second["outcome"] == "PASS"


def test_a_claim_about_an_artifact_not_built_is_reported_not_failed(tmp_path, capsys):
    doc = _doc(tmp_path, [dict(_claim("fig_lowest", "elsewhere", {"method": "a", "tie_factor": 2.0}), min_epochs=0)])
    out = tmp_path / "V.md"
    write_report([doc], str(out))
    (r,) = json.loads(out.with_suffix(".json").read_text())
    assert r["outcome"] == "NOT BUILT" and not r["binding"] and r["as_expected"]
    assert "0 PASS, 0 FAIL** of 1 claims (1 about artifacts not built" in out.read_text()
    assert check_report(str(out)) == 0 and "not built: fig_lowest" in capsys.readouterr().out


def test_expected_failures_do_not_fail_the_check_but_surprises_do(tmp_path, capsys):
    claims = [_claim("table_value", "t6", {"row": "b", "column": "L", "printed": "2.59"}, expect="fail")]
    doc = _doc(tmp_path, claims, table_rows=["b,2.5701,2"])
    out = tmp_path / "V.md"
    write_report([doc], str(out))
    assert "FAIL" in out.read_text() and check_report(str(out)) == 0
    doc = _doc(tmp_path, [dict(claims[0], expect="pass")], table_rows=["b,2.5701,2"])
    write_report([doc], str(out))
    assert check_report(str(out)) == 1
    assert "UNEXPECTED FAIL" in capsys.readouterr().out
    assert json.loads(out.with_suffix(".json").read_text())[0]["as_expected"] is False


def test_manifest_detects_a_changed_artifact(tmp_path):
    root = tmp_path / "figures"
    (root / "p").mkdir(parents=True)
    a, b = root / "p" / "a.csv", root / "p" / "b.png"
    a.write_text("1\n")
    b.write_bytes(b"\x89PNG")
    write_manifest(str(root), [str(a), str(b)], str(root / "p" / "MANIFEST"))
    assert check_manifest(str(root / "p" / "MANIFEST")) == []
    a.write_text("2\n")
    assert check_manifest(str(root / "p" / "MANIFEST")) == ["p/a.csv"]


def test_a_plateau_claim_binds_only_at_a_long_enough_scale(tmp_path, capsys):
    rows = ["p,a,1e-3,1", "p,b,1e-6,1"]
    claim = dict(_claim("fig_lowest", "f", {"method": "a", "tie_factor": 2.0}), min_epochs=10)
    out = tmp_path / "V.md"
    short = _doc(tmp_path, [claim], sel_rows=rows)  # scale runs 1 epoch
    write_report([short], str(out))
    (r,) = json.loads(out.with_suffix(".json").read_text())
    assert r["outcome"] == "FAIL" and not r["binding"] and r["as_expected"]
    assert "indicative: 1 of the 10 data passes" in out.read_text() and check_report(str(out)) == 0
    long = dict(short, scale={"name": "long", "epochs": 10})
    write_report([long], str(out))
    assert check_report(str(out)) == 1


def test_recheck_catches_a_report_that_no_longer_follows_from_the_artifacts(tmp_path):
    rows = ["p,a,1e-7,1", "p,b,5e-7,1"]
    doc = _doc(tmp_path, [_claim("fig_lowest", "f", {"method": "a", "tie_factor": 2.0})], sel_rows=rows)
    out = tmp_path / "V.md"
    write_report([doc], str(out))
    assert recheck([doc], str(out.with_suffix(".json"))) == []
    (tmp_path / "sel.csv").write_text("dataset,method,best_f_gap,selected\np,a,1e-5,1\np,b,5e-7,1\n")
    (problem,) = recheck([doc], str(out.with_suffix(".json")))
    assert "differs from the committed report" in problem
