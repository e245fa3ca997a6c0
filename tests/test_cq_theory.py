"""paper cq's improvement factor over GD (spec A.5): the published and derived numbers, and the
analytic Figure 4 (``kind: improvement_plane``) with its claims."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.report.captions import tex_escape
from gradcomp.theory.cq import improvement_factor

# spec A.5: d, n, IF_IQ, p_IQ, IF_CQ, p_CQ, ratio (b_c = d + 32, A_IQ = d/(4n), A_CQ = d/(4n^2));
# p = 1 where IQ is GD
SPEC_TABLE = [
    (1024, 32, 1.0000, 1.0, 0.2319, 0.0216, 4.31),
    (1024, 128, 0.5536, 0.0283, 0.0936, 0.0122, 5.92),
    (1024, 1024, 0.2319, 0.0216, 0.0450, 0.0038, 5.16),
    (16384, 1024, 0.7469, 0.0291, 0.0662, 0.0083, 11.28),
    (16384, 8192, 0.3006, 0.0234, 0.0390, 0.0024, 7.71),
    (131072, 8192, 0.7462, 0.0291, 0.0473, 0.0046, 15.77),
    (1048576, 8192, 1.0000, 1.0, 0.0661, 0.0083, 15.12),
    (1048576, 65536, 0.7461, 0.0291, 0.0389, 0.0024, 19.17),
]
DIGITS4 = 0.5e-4 * (1 + 1e-9)


@pytest.mark.parametrize("d,n,if_iq,p_iq,if_cq,p_cq,ratio", SPEC_TABLE)
def test_spec_table_values(d, n, if_iq, p_iq, if_cq, p_cq, ratio):
    iq = improvement_factor(d, d + 32, d / (4 * n))
    cq = improvement_factor(d, d + 32, d / (4 * n * n))
    assert abs(iq[0] - if_iq) <= DIGITS4 and abs(iq[1] - p_iq) <= DIGITS4
    assert abs(cq[0] - if_cq) <= DIGITS4 and abs(cq[1] - p_cq) <= DIGITS4
    assert abs(iq[0] / cq[0] - ratio) <= 0.005 * (1 + 1e-9)


def test_limits_at_n_equals_d():
    d = 2 ** 60     # b_c/(32 d) = 1/32 in floating point: the limit d = n -> infinity
    if_iq, p_iq = improvement_factor(d, d + 32, 0.25)
    assert abs(if_iq - 0.2277) <= DIGITS4 and abs(p_iq - 0.0211) <= DIGITS4
    if_cq, p_cq = improvement_factor(d, d + 32, d / (4.0 * d * d))
    assert abs(if_cq - 1 / 32) < 1e-6 and p_cq < 1e-6
    assert round(if_iq / if_cq, 2) == 7.29
    # the true constant A_IQ = d/n = 1 (range 2||x||) does not give the published 0.23
    if_true, p_true = improvement_factor(d, d + 32, 1.0)
    assert abs(if_true - 0.402) < 5e-4 and abs(p_true - 0.0255) < 5e-5
    # CQ approaches 1/32 from above, slowly, along n = d
    vals = [improvement_factor(2 ** k, 2 ** k + 32, 1 / (4.0 * 2 ** k))[0] for k in (10, 20, 30)]
    assert vals[0] > vals[1] > vals[2] > 1 / 32 and abs(vals[1] - 1 / 32) < 0.005


def test_iq_is_gd_iff_d_large_against_n():
    # spec A.5: IQ = GD for d >~ 30 n (with b_c/(32 d) close to 1/32)
    d = 2 ** 16
    assert improvement_factor(d, d + 32, d / (4 * (d // 32)))[0] == 1.0
    assert improvement_factor(d, d + 32, d / (4 * (d // 16)))[0] < 1.0


# ---- the figure kind -----------------------------------------------------------------------------

SMALL = ["figure.log2_d.lo=1", "figure.log2_d.hi=12", "figure.log2_n.lo=1", "figure.log2_n.hi=12"]


def _build(tmp_path, overrides=(), report=None):
    from gradcomp.kinds import FIGURE_KINDS

    spec = to_plain(compose(["+figure=cq/fig4", *SMALL, *overrides]))["figure"]
    kind = FIGURE_KINDS[spec["kind"]]
    ap = kind.plan("cq/fig4", spec, SimpleNamespace(figures_root=str(tmp_path)))
    assert ap.runs == [] and ap.problems == []
    kind.build({"spec": ap.spec, **ap.doc, "outputs": ap.outputs, "scale": {"name": "test"},
                **({"report": report} if report is not None else {})})
    return ap


def figure_texts(monkeypatch) -> list:
    """The figure-level texts of every figure saved from now on (one list per saved file)."""
    from gradcomp.report import style

    seen, save = [], style.save
    def spy(fig, path):
        seen.append([t.get_text() for t in fig.texts])
        save(fig, path)
    monkeypatch.setattr(style, "save", spy)
    return seen


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_plane_builds_with_every_output_and_column(tmp_path):
    ap = _build(tmp_path)
    for name in ("png", "pdf", "csv", "checkpoints", "caption", "caption_tex"):
        assert Path(ap.outputs[name]).stat().st_size > 0
    grid = _rows(ap.outputs["csv"])
    assert len(grid) == 12 * 12
    for col in ("d", "n", "IF_IQ", "p_IQ", "IF_CQ", "p_CQ", "ratio"):
        assert col in grid[0]
    cps = {r["label"]: r for r in _rows(ap.outputs["checkpoints"])}
    r = cps["spec_1024_128"]
    assert (int(r["d"]), int(r["n"]), r["ab_constants"]) == (1024, 128, "paper")
    assert abs(float(r["IF_IQ"]) - 0.5536) <= DIGITS4 and abs(float(r["p_CQ"]) - 0.0122) <= DIGITS4
    assert abs(float(r["ratio"]) - 5.92) <= 0.005
    # the grid point and the checkpoint agree, and IQ is GD at d = 32 n
    g = {(int(x["d"]), int(x["n"])): x for x in grid}
    assert float(g[1024, 128]["IF_CQ"]) == float(r["IF_CQ"])
    assert float(g[1024, 32]["IF_IQ"]) == 1.0 and float(g[1024, 32]["p_IQ"]) == 1.0
    assert cps["diag_2^20_exact"]["ab_constants"] == "exact"
    assert abs(float(cps["diag_2^20_exact"]["A_IQ"]) - (2**20 - 1) / 2**20) < 1e-15
    assert "our choice" in Path(ap.outputs["caption"]).read_text()


def test_plane_carries_one_footer_line_and_its_caption_beside_it(tmp_path, monkeypatch):
    seen = figure_texts(monkeypatch)
    ap = _build(tmp_path, report={"embed_caption": False})
    # the image: one line naming the caption file, none of the caption's text
    assert seen[0] == ["gradcomp \u00b7 cq/fig4 \u00b7 scale=test \u00b7 full caption: fig4_caption.md"]
    md = Path(ap.outputs["caption"]).read_text()
    tex = Path(ap.outputs["caption_tex"]).read_text()
    assert ap.outputs["caption_tex"].endswith("cq/fig4_caption.tex")
    assert tex.startswith(r"\caption{\textbf{cq/fig4} (scale=test") and tex.endswith("}\n\\label{fig:cq-fig4}\n")
    assert r"ab\_constants=paper: A\_IQ = d/(4n), A\_CQ = d/(4n\^{}2)" in tex
    # the checkpoints table as text (a caption holds no table), every row kept
    assert r"spec\_1024\_128 (d 1024, n 128, constants paper, IF\_IQ (p*) 0.5536 (0.0283)" in tex
    assert "|" not in tex.replace("||", "") and "\n\n" not in tex
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")][1:]
    assert len(rows) == len(ap.spec["checkpoints"]) == tex.count(" (d ")
    for row in rows:
        assert tex_escape(row.split("|")[1].strip()) + " (d " in tex
    # nothing LaTeX reads as markup is left unescaped
    body = tex.replace(r"\textbf{cq/fig4}", "").replace(r"\caption{", "").replace(r"\label{fig:cq-fig4}", "")
    assert not re.search(r"(?<!\\)[_^%&#$~]", body.replace(r"\^{}", "").replace(r"\textasciitilde{}", ""))
    # a doc without report settings (built outside the plan) gets the footer too
    seen.clear()
    _build(tmp_path / "bare")
    assert len(seen[0]) == 1 and seen[0][0].startswith("gradcomp \u00b7 cq/fig4")


def test_plane_embeds_its_caption_when_asked(tmp_path, monkeypatch):
    seen = figure_texts(monkeypatch)
    ap = _build(tmp_path, report={"embed_caption": True})
    (drawn,) = seen[0]
    assert "full caption:" not in drawn and drawn.count("\n") >= 3
    assert drawn.startswith("cq/fig4 (scale=test, analytic: no runs;") and "our choice" in drawn
    assert Path(ap.outputs["caption_tex"]).exists()


def test_plane_is_byte_deterministic(tmp_path):
    a = _build(tmp_path / "a", ["figure.checkpoints=[]"])
    b = _build(tmp_path / "b", ["figure.checkpoints=[]"])
    for name in ("png", "pdf", "csv"):
        assert open(a.outputs[name], "rb").read() == open(b.outputs[name], "rb").read()


@pytest.mark.parametrize("bad,needle", [
    (["figure.ab_constants=bogus"], "expected one of"),
    (["figure.log2_d.lo=5", "figure.log2_d.hi=2"], "0 <= lo <= hi"),
    (["figure.panel_titles=[a,b]"], "3 entries"),
    (["figure.if_limits=[1.0,0.5]"], "0 < lo < hi"),
    (["figure.bogus=1"], "bogus"),
])
def test_bad_figure_config_fails_at_plan_time(tmp_path, bad, needle):
    with pytest.raises(ConfigError, match=needle):
        _build(tmp_path, bad)


# ---- the claims -------------------------------------------------------------------------------


def _claims_doc(ap):
    claims = to_plain(compose(["+claim=cq"]))["claim"]
    claims["claims"] = [c for c in claims["claims"] if c["artifact"] == "cq/fig4"]
    return {"claims": claims, "scale": {"name": "test", "epochs": 1},
            "figures": {"cq/fig4": {"outputs": ap.outputs}}, "tables": {}, "studies": {}}


def test_fig4_claims_pass_on_the_built_figure(tmp_path):
    from gradcomp.verify.claims import evaluate

    res = evaluate(_claims_doc(_build(tmp_path)))
    assert len(res) >= 6
    assert {r["id"]: r["outcome"] for r in res} == {r["id"]: "PASS" for r in res}
    by_id = {r["id"]: r for r in res}
    assert "0.227734" in by_id["fig4_iq_if_at_n_eq_d"]["measured"]
    assert "0.401855" in by_id["fig4_published_023_needs_paper_constant"]["measured"]
    assert "7.28733" in by_id["fig4_ratio_at_n_eq_d"]["measured"]


def test_fig4_claims_fail_with_the_true_constants(tmp_path):
    """With A_IQ = d/n the published 0.23 is not reproduced and IQ is GD already at d = 16 n."""
    from gradcomp.verify.claims import evaluate

    res = {r["id"]: r for r in evaluate(_claims_doc(_build(tmp_path, ["figure.ab_constants=exact"])))}
    for cid in ("fig4_iq_if_at_n_eq_d", "fig4_ratio_at_n_eq_d", "fig4_iq_beats_gd_for_d_le_16n",
                "fig4_published_023_needs_paper_constant"):
        assert res[cid]["outcome"] == "FAIL", cid
    assert "0.401855" in res["fig4_iq_if_at_n_eq_d"]["measured"]
    assert res["fig4_iq_is_gd_for_d_ge_32n"]["outcome"] == "PASS"   # larger A: GD even more often


def test_plane_region_reports_the_failing_points(tmp_path):
    from gradcomp.verify.claims import evaluate

    grid = tmp_path / "g.csv"
    grid.write_text("d,n,IF_IQ\n64,2,1.0\n64,4,0.9\n16,2,0.7\n")   # the last: d = 8 n, outside
    claim = {"id": "r", "source": "s", "statement": "st", "kind": "plane_region", "artifact": "f",
             "params": {"column": "IF_IQ", "op": "==", "value": 1.0, "d_over_n_min": 16},
             "tolerance": "t", "expect": "pass", "note": ""}
    doc = {"claims": {"paper": "x", "claims": [claim]}, "scale": {"name": "t", "epochs": 1},
           "figures": {"f": {"outputs": {"csv": str(grid)}}}}
    (r,) = evaluate(doc)
    assert r["outcome"] == "FAIL" and "1/2 grid points" in r["measured"]
    assert "(64, 4, 0.9)" in r["measured"] and "(16, 2" not in r["measured"]
