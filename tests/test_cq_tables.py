"""paper cq's tables read off runs: Table 1's bounds (gradcomp.theory.cq), Table 1 evaluated
against the runs of cq/fig1 (``kind: communication_complexity``), and Figure 6's chosen
multipliers as a table (``kind: selections``)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gradcomp import compressors
from gradcomp.config import ConfigError, compose, composer, to_plain
from gradcomp.report.tables import Censored
from gradcomp.theory.cq import (TaskInputs, communication_cost, cq_complexity, dcgd_identical_clients_bits,
                                gd_bits, marina_bits, marina_weighted_bits, optimal_p)

# paper cq's homogeneous CQ on d = 256, n = 16 (A = d/(4n^2)); Delta^0 and eps arbitrary
BASE = TaskInputs(d=256, n=16, b_c=288.0, A=0.25, B=0.0, L_minus=1.0, L_plus=1.2, L_pm=0.3, L_plus_w=1.1,
                  L_pm_w=0.2, delta0=64.0, eps=1e-3, identical_clients=False)


# ---- the bounds ----------------------------------------------------------------------------------

def test_marina_bits_is_the_communication_cost_at_optimal_p():
    c = BASE
    p = optimal_p(c.d, c.b_c, c.L_minus, c.A, c.B, c.L_plus, c.L_pm)
    bits, p_row = marina_bits(c)
    assert p_row == p
    assert bits == pytest.approx(2 * c.delta0 / c.eps
                                 * float(communication_cost(p, c.d, c.b_c, c.L_minus, c.A, c.B, c.L_plus, c.L_pm)),
                                 rel=1e-12)
    # spec A.5 by hand: (p 32 d + (1 - p) b_C)(L_- + sqrt((1 - p)/p (A L_+^2))) with B = 0
    by_hand = (p * 32 * c.d + (1 - p) * c.b_c) * (c.L_minus + math.sqrt((1 - p) / p * c.A * c.L_plus**2))
    assert bits == pytest.approx(2 * c.delta0 / c.eps * by_hand, rel=1e-12)
    # p = 1 is a candidate: never worse than GD
    assert bits <= gd_bits(c)[0]


def test_marina_bits_grow_with_A_and_with_the_hessian_variance():
    costs = [marina_bits(replace(BASE, A=a))[0] for a in (0.0, 0.01, 0.25, 1.0, 4.0, 64.0)]
    assert all(x < y for x, y in zip(costs, costs[1:]))
    # with B > 0 the bound pays B L_pm^2
    pm = [marina_bits(replace(BASE, A=1.0, B=1.0, L_pm=v))[0] for v in (0.0, 0.1, 0.5, 1.0)]
    assert all(x < y for x, y in zip(pm, pm[1:]))
    # A = 0 (no compression noise) costs b_C L_- at p -> 0: (2 Delta^0/eps) b_C L_-, to rounding
    assert costs[0] == pytest.approx(2 * BASE.delta0 / BASE.eps * BASE.b_c * BASE.L_minus, rel=1e-6)


def test_weighted_bound_takes_the_weighted_constants():
    w = marina_weighted_bits(replace(BASE, B=1.0, A=math.pi / 2))
    plain = marina_bits(replace(BASE, B=1.0, A=math.pi / 2, L_plus=BASE.L_plus_w, L_pm=BASE.L_pm_w))
    assert w == plain
    assert w[0] < marina_bits(replace(BASE, B=1.0, A=math.pi / 2))[0]   # L_{+,w} < L_+ here


def test_gd_and_dcgd_by_hand():
    c = replace(BASE, identical_clients=True)
    assert gd_bits(c) == (pytest.approx(2 * 64.0 / 1e-3 * 1.0 * 32 * 256, rel=1e-12), 1.0)
    bits, p = dcgd_identical_clients_bits(c)
    assert p is None and bits == pytest.approx(2 * 64.0 * 1.0 * (1 + 0.25) / 1e-3 * 288.0, rel=1e-12)
    # no bound where the clients differ (the paper's entry is not recoverable; we invent none)
    assert dcgd_identical_clients_bits(BASE) == (None, None)
    with pytest.raises(KeyError, match="unknown cq Table 1 formula"):
        cq_complexity("__import__('os')", BASE)


def test_dcgd_bound_holds_on_identical_clients():
    """DCGD with IQ (its exact constant A = (d - 1)/n, attained on every input) on a quadratic
    every client shares, at gamma = 1/(L_-(1 + A - B)): the mean of ||grad f(x^k)||^2 over K
    rounds, averaged over seeds, stays below the derivation's 2 Delta^0 L_-(1 + A - B)/K."""
    d, n, K, seeds = 16, 4, 300, 16
    h = np.linspace(0.05, 1.0, d)                 # f = 1/2 x^T diag(h) x, L_- = 1, f* = 0
    cfg = to_plain(compose(["compressor=iq"]))["compressor"]
    q = compressors.build(cfg, d, n)
    A, B = q.ab_constants(n, "exact")
    assert A == pytest.approx((d - 1) / n)
    gamma = 1.0 / (1.0 + A - B)
    x0 = np.ones(d)
    delta0 = 0.5 * float(h @ x0**2)
    means = []
    for s in range(seeds):
        rng = np.random.default_rng(s)
        x, acc = x0.copy(), 0.0
        for _ in range(K):
            g = h * x
            acc += float(g @ g)
            x = x - gamma * q.compress(np.repeat(g[None], n, axis=0), rng).mean(axis=0)
        means.append(acc / K)
    bound = 2 * delta0 * 1.0 * (1 + A - B) / K
    assert np.mean(means) <= bound
    # and the bound is the one the table evaluates (b_C bits a round)
    c = TaskInputs(d=d, n=n, b_c=float(q.bits_per_client()), A=A, B=B, L_minus=1.0, L_plus=1.0, L_pm=0.0,
                   L_plus_w=1.0, L_pm_w=0.0, delta0=delta0, eps=bound, identical_clients=True)
    assert dcgd_identical_clients_bits(c)[0] == pytest.approx(K * q.bits_per_client(), rel=1e-12)


# ---- the rank agreement, on a constructed case --------------------------------------------------

def test_rank_agreement_of_a_constructed_table():
    from gradcomp.report.figure_tables import communication_note, ranked

    # rows: (theory bits, p, run bits); a row without a bound or without a run is left out
    panels = [{"title": "P1", "delta0": 1.0, "identical": True,
               "cells": [(3.0, 0.1, 30), (1.0, 0.1, 10), (2.0, 0.2, Censored(">50")), (None, None, 5),
                         (4.0, 1.0, None)]},
              {"title": "P2", "delta0": 2.0, "identical": False,
               "cells": [(3.0, 0.1, Censored(">50")), (1.0, 0.1, Censored(">50")), (2.0, 0.2, Censored(">50")),
                         (None, None, None), (4.0, 1.0, None)]}]
    theory, runs = ranked(panels, {0})
    assert theory == [3.0, 1.0, 2.0] and runs[:2] == [30, 10]
    doc = {"spec": {"epsilon": 0.5}, "panels": [{"ab_constants": "paper"}] * 2}
    note = communication_note(doc, panels)
    # P1 by hand: theory ranks (3, 1, 2), runs (2, 1, 3) (the censored run last): rho = 1/2
    assert "P1: Delta^0 = 1, clients identical, 2 of 3 runs reached epsilon, Spearman rho = 0.50" in note
    # P2: every run censored, no spread
    assert "P2: Delta^0 = 2, clients differ, 0 of 3 runs reached epsilon, Spearman rho = undefined" in note
    # pooled: theory (3,1,2,3,1,2) vs runs (30,10,inf,inf,inf,inf)
    from scipy.stats import spearmanr
    rho = spearmanr([3, 1, 2, 3, 1, 2], [30, 10, math.inf, math.inf, math.inf, math.inf])[0]
    assert f"Pooled over the 6 (panel, row) pairs with a bound and a run: Spearman rho = {rho:.2f}" in note


# ---- both tables on cq/fig1 built at smoke scale ------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """cq/fig1 at scale=smoke (every 2nd multiplier: 1, 4, 16), run in-process: its problems,
    runs and the plans of both tables (cq/fig6 restricted to cq/fig1)."""
    from gradcomp.kinds.figure_tables import SelectionsTable
    from gradcomp.pipeline import problem
    from gradcomp.pipeline.plan import Planner, artifact_doc, build_plan
    from gradcomp.pipeline.run import run_to_dir

    root = tmp_path_factory.mktemp("cq_tables")
    overrides = ["scale=smoke", "scale.grid_stride=2", f"results_root={root / 'results'}",
                 "artifacts.figures=[cq/fig1]", "artifacts.tables=[cq/table1]", "artifacts.claims=[]",
                 "artifacts.compressor_studies=[]"]
    plan = build_plan(overrides)
    data = {"mirror": None, "cache_dir": str(root / "cache"), "download": False}
    data_path = root / "data.json"
    data_path.write_text(json.dumps(data))
    for pid, pc in plan.problems.items():
        problem.prepare(pc, data, Path(plan.problem_dir(pid)))
    for rid, rc in plan.runs.items():
        run_to_dir(rc, data, plan.results_root, Path(plan.run_dir(rid)))
    with composer() as c:
        planner = Planner(plan, c)
        spec = planner.compose(["+table=cq/fig6"])["table"]
        spec["figures"] = ["cq/fig1"]
        sel = SelectionsTable.plan("cq/fig6", spec, planner)
    return {"plan": plan, "fig6": artifact_doc(plan, "tables", sel),
            "table1": {**artifact_doc(plan, "tables", plan.tables["cq/table1"]), "data": str(data_path)},
            "fig1": plan.figures["cq/fig1"], "root": plan.results_root}


def test_fig1_image_carries_one_footer_line_unless_the_config_embeds_its_caption(built, monkeypatch):
    """cq/fig1 drawn from the fixture's runs, with the doc the plan writes (report settings from
    conf/config.yaml): its image holds one line naming the caption files, which both exist."""
    from gradcomp.kinds.convergence import Convergence
    from gradcomp.pipeline.plan import artifact_doc
    from gradcomp.report import style

    seen, save = [], style.save
    def spy(fig, path):
        seen.append([t.get_text() for t in fig.texts])
        save(fig, path)
    monkeypatch.setattr(style, "save", spy)
    doc = json.loads(json.dumps(artifact_doc(built["plan"], "figures", built["fig1"])))
    assert doc["report"] == {"embed_caption": False}
    Convergence.build(doc)
    assert seen[0] == ["gradcomp \u00b7 cq/fig1 \u00b7 scale=smoke \u00b7 full caption: fig1_caption.md"]
    tex = Path(doc["outputs"]["caption_tex"]).read_text()
    assert tex.startswith(r"\caption{\textbf{cq/fig1} (scale=smoke") and "Multipliers chosen:" in tex
    assert "**" not in tex and r"\label{fig:cq-fig1}" in tex
    seen.clear()
    doc["report"]["embed_caption"] = True
    Convergence.build(doc)
    (drawn,) = seen[0]
    assert drawn.startswith("cq/fig1 (scale=smoke") and "Multipliers chosen:" in drawn and "\n" in drawn


def _collect(built):
    from gradcomp.report.figures import collect

    fp = built["fig1"]
    return collect({"spec": fp.spec, "panels": fp.panels, "results_root": built["root"]})


def _csv_rows(path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def _finite_min(Y) -> float:
    Y = np.asarray(Y, dtype=float)
    return float(np.nanmin(np.where(np.isfinite(Y), Y, np.nan)))


def test_fig6_rows_are_the_figures_selection(built):
    from gradcomp.kinds.figure_tables import SelectionsTable

    doc = built["fig6"]
    SelectionsTable.build(doc)
    rows = _csv_rows(doc["outputs"]["csv"])
    data = _collect(built)
    entries = [(p["panel"], e) for p in data for e in p["entries"]]
    assert len(rows) == len(entries) == sum(len(p["keys"]) for p in built["fig1"].panels)
    grid = built["fig1"].spec["grid_used"]
    for r, (panel, e) in zip(rows, entries):
        tr, info = e["trace"], e["info"]
        assert (r["figure"], r["panel"], r["curve"]) == ("cq/fig1", panel["title"], e["label"])
        assert float(r["multiplier"]) == e["sel"].multiplier and float(r["multiplier"]) in grid
        assert float(r["gamma"]) == pytest.approx(float(r["multiplier"]) * info["gamma_theory"], rel=1e-12)
        for k in ("p", "A", "B", "gamma_theory"):
            assert float(r[k]) == pytest.approx(float(info[k]), rel=1e-12)
        # independent of collect: the chosen replica reached the lowest ||grad f||^2 within the budget
        within = np.asarray(tr["bits"], dtype=float) <= panel["budget"]
        Y = np.asarray(tr["grad_norm_sq"], dtype=float)[within]
        lowest = _finite_min(Y)
        assert float(r["lowest within budget"]) == pytest.approx(lowest, rel=1e-12)
        assert _finite_min(Y[:, grid.index(float(r["multiplier"]))]) == pytest.approx(lowest, rel=1e-12)
        assert float(r["budget (bits per client)"]) == panel["budget"]
    md = Path(doc["outputs"]["md"]).read_text()
    assert built["fig1"].spec["select"]["rule"].split()[0] in md and "not recoverable" in md
    assert Path(doc["outputs"]["tex"]).read_text().startswith(r"\begin{table}")


def test_table1_cells_against_the_runs_and_hand_computations(built):
    from gradcomp.kinds.figure_tables import CommunicationComplexityTable
    from gradcomp.pipeline import io

    doc = json.loads(json.dumps(built["table1"]))
    data = _collect(built)
    # an epsilon half of the selected curves reach at this scale (none is typed in)
    finals = [_finite_min(e["trace"]["grad_norm_sq"][:, e["sel"].index]) for p in data for e in p["entries"]]
    eps = float(np.median(finals))
    doc["spec"]["epsilon"] = eps
    CommunicationComplexityTable.build(doc)
    rows = {r["Method"]: r for r in _csv_rows(doc["outputs"]["csv"])}
    spec_rows = {r["method"]: r for r in doc["spec"]["rows"]}
    pooled_theory, pooled_runs = [], []
    for pan, p in zip(doc["panels"], data):
        title = pan["title"]
        c = io.read_json(Path(built["root"]) / "problems" / pan["problem"] / "constants.json")
        cl = io.read_json(Path(built["root"]) / "problems" / pan["problem"] / "clients.json")
        # Delta^0 by hand for x^0 = (sqrt d, 0, ..., 0): f(x^0) = d (2 abar + cbar)/2 - betabar sqrt(d)
        d = c["d"]
        delta0 = d * (2 * np.mean(cl["a"]) + np.mean(cl["c"])) / 2 - np.mean(cl["beta"]) * math.sqrt(d) - c["f_star"]
        by_key = {e["method"]: e for e in p["entries"]}
        for name, row in spec_rows.items():
            theory, ran = rows[name][f"{title}: theory"], rows[name][f"{title}: run"]
            if row.get("run"):
                e = by_key[row["run"]]
                info = e["info"]
                # theory from the run's own p, A, B, bits and constants
                if row["formula"] == "marina":
                    expect = 2 * delta0 / eps * float(communication_cost(
                        info["p"], d, info["bits_per_message"], c["L"], info["A"], info["B"],
                        info["L_plus_used"], info["L_pm_used"]))
                    assert float(theory) == pytest.approx(expect, rel=1e-8), (name, title)
                # the run: the first record of the chosen replica at or below eps, within the budget
                x = np.asarray(e["trace"]["bits"], dtype=float)
                y = np.asarray(e["trace"]["grad_norm_sq"], dtype=float)[:, e["sel"].index]
                hit = np.flatnonzero((y <= eps) & (x <= p["panel"]["budget"]))
                assert ran == (str(int(x[hit[0]])) if hit.size else f">{p['panel']['budget']:g}"), (name, title)
                pooled_theory.append(float(theory))
                pooled_runs.append(float(x[hit[0]]) if hit.size else math.inf)
            else:
                assert ran == "-"
            if row["formula"] == "dcgd_identical_clients":
                # a bound exactly where the panel's noise s is 0 (Algorithm 5: identical clients)
                assert (theory != "-") == (pan["run_config"]["dataset"]["noise"] == 0.0), (name, title)
    from scipy.stats import spearmanr

    rho = spearmanr(pooled_theory, pooled_runs)[0]
    md = Path(doc["outputs"]["md"]).read_text()
    assert f"with a bound and a run: Spearman rho = {rho:.2f}" in md
    assert "not recoverable" in md and "$\\frac{2\\Delta^0" in md


def test_table1_refuses_a_row_whose_compressor_is_not_its_runs(built):
    from gradcomp.kinds.figure_tables import CommunicationComplexityTable
    from gradcomp.pipeline.plan import Planner

    with composer() as c:
        planner = Planner(built["plan"], c)
        spec = planner.compose(["+table=cq/table1"])["table"]
        bad = next(r for r in spec["rows"] if r.get("run") == "cq")
        bad["compressor"] = ["compressor=iq"]
        with pytest.raises(ConfigError, match="another compressor"):
            CommunicationComplexityTable.plan("cq/table1", spec, planner)
        spec = planner.compose(["+table=cq/table1"])["table"]
        spec["rows"][0]["formula"] = "marina_plus"
        with pytest.raises(ConfigError, match="known"):
            CommunicationComplexityTable.plan("cq/table1", spec, planner)
