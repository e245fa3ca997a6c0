"""Tables read off the runs of convergence figures (:mod:`gradcomp.kinds.figure_tables`).

Both take each curve's chosen replica from :func:`gradcomp.report.figures.collect`, the
selection the figure itself draws, so a table and its figure never disagree.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..pipeline import io
from .axes import x_values, y_values
from .figures import _grids_text, collect, reach_x
from .tables import Censored, Math, rank_correlation, write_table

# ---- cq Figure 6 as a table: the chosen multipliers ------------------------------------------


def selection_rows(doc: dict) -> tuple[list[str], list[list]]:
    """One row per figure, panel and curve: the run's p and AB constants (its ``info.json``;
    '-' for a method without them), gamma_theory, and the replica ``collect`` selected."""
    header = ["figure", "panel", "curve", "compressor", "p", "A", "B", "gamma_theory", "multiplier", "gamma",
              "metric", "lowest within budget", "budget (bits per client)"]
    rows = []
    for fig, fdoc in doc["figures"]:
        metric = fdoc["spec"]["select"]["metric"]
        for p in collect({**fdoc, "results_root": doc["results_root"]}):
            panel = p["panel"]
            for e in p["entries"]:
                info, tr, s = e["info"], e["trace"], e["sel"]
                budget = panel.get("budget")
                rows.append([fig, panel.get("title") or panel["dataset"], e["label"], info["compressor"],
                             *(info.get(k, "-") for k in ("p", "A", "B")), info["gamma_theory"], s.multiplier,
                             float(tr["gamma"][s.index]), metric, float(s.best[s.index]),
                             "-" if budget is None else budget])
    return header, rows


def selection_note(doc: dict, rows: list[list]) -> str:
    """Each figure's rule and grid, and how many curves chose an end of their grid (where
    a wider grid might have chosen otherwise)."""
    parts = []
    for fig, fdoc in doc["figures"]:
        spec = fdoc["spec"]
        grid = spec.get("grid_used") or []
        mine = [r for r in rows if r[0] == fig]
        top = sum(1 for r in mine if grid and r[8] == max(grid))
        low = sum(1 for r in mine if grid and r[8] == min(grid))
        parts.append(f"{fig}: {spec['select']['rule'].strip()} Grid: {_grids_text(spec)}; of its {len(mine)} "
                     f"curves {low} chose the smallest and {top} the largest multiplier of the grid.")
    scale = doc["scale"]
    return (f"Scale {scale['name']}: every run ends at {float(scale['budget_fraction']):g} x the bit budget "
            "its rule names (the budget column). " + " ".join(parts))


def build_selections(doc: dict) -> None:
    """cq Figure 6 / Appendix D.2.2 as a table (:class:`~gradcomp.kinds.figure_tables.SelectionsTable`)."""
    header, rows = selection_rows(doc)
    write_table(doc, header, rows, doc["spec"]["caption"].strip() + " " + selection_note(doc, rows))


# ---- cq Table 1, evaluated --------------------------------------------------------------------

#: the criterion of every bound of cq Table 1: ||grad f(x^k)||^2 <= eps
CRITERION = "grad_norm_sq"


def initial_gap(root: str, run_cfg: dict, data_cfg: dict) -> float:
    """``Delta^0 = f(x^0) - f*`` of a run: its problem rebuilt (the stored constants give f*)
    and ``x^0`` drawn as the run draws it."""
    from ..pipeline import problem
    from ..seeding import stream

    prob, const, _ = problem.load(run_cfg, data_cfg, root)
    x0 = prob.x0(float(run_cfg["run"]["x0_std"]), stream(run_cfg["seed"], "x0"))
    return float(prob.loss(x0)) - float(const.f_star)


def identical_clients(c: dict, rtol: float) -> bool:
    """Whether every ``f_i`` equals ``f``: no Hessian variance (``L_pm <= rtol L_+``) and
    every client stationary at x* (``zeta_*^2 <= (rtol L_+)^2 max(||x*||^2, 1)``, the scale of
    the gradients between 0 and x*, kept positive where x* = 0); ``rtol`` absorbs rounding."""
    return (c["L_pm"] <= rtol * c["L_plus"]
            and c["zeta_sq"] <= (rtol * c["L_plus"]) ** 2 * max(c["x_star_sq_norm"], 1.0))


def bits_to_reach(entry: dict, eps: float, budget):
    """Bits per client until the chosen replica first has ``||grad f||^2 <= eps`` within the
    budget; :class:`~gradcomp.report.tables.Censored` ``>budget`` when it never does."""
    tr, info, s = entry["trace"], entry["info"], entry["sel"]
    x = x_values(tr, info, "bits")
    y = y_values(tr, CRITERION)[:, s.index]
    if budget is not None:
        y = np.where(x <= float(budget), y, np.nan)
    hit = reach_x(x, y, eps)
    if math.isnan(hit):
        return Censored(f">{float(budget if budget is not None else x[-1]):g}")
    return int(hit) if float(hit).is_integer() else hit


def task_inputs(c: dict, comp_cfg: dict, convention: str, formula: str, delta0: float, eps: float,
                identical: bool):
    """The :class:`~gradcomp.theory.cq.TaskInputs` of a compressor on a problem: its AB
    constants and bits as MARINA takes them (:class:`gradcomp.methods.marina.Marina`)."""
    from .. import compressors
    from ..theory.cq import TaskInputs

    d, n = int(c["d"]), int(c["M"])
    q = compressors.build(comp_cfg, d, n, weights=c["L_m"])
    weighted = q.sampling_weights is not None
    if weighted != (formula == "marina_weighted"):
        raise ValueError(f"formula {formula!r} with compressor {q.name}: the weighted bound (marina_weighted) "
                         "goes with exactly the compressors that sample clients by weight")
    A, B = (float(v) for v in q.ab_constants(n, convention))
    return TaskInputs(d=d, n=n, b_c=float(q.bits_per_client()), A=A, B=B, L_minus=c["L"], L_plus=c["L_plus"],
                      L_pm=c["L_pm"], L_plus_w=c["L_plus_w"], L_pm_w=c["L_pm_w"], delta0=delta0, eps=eps,
                      identical_clients=identical, bits_per_float=int(comp_cfg["bits_per_float"]))


def communication_cells(doc: dict) -> list[dict]:
    """Per panel: ``Delta^0``, whether its clients are identical, and per row
    ``(theory bits, p, run bits)`` (None where the row has no bound or no run)."""
    from ..theory.cq import cq_complexity

    spec, root = doc["spec"], doc["results_root"]
    eps, rtol = float(spec["epsilon"]), float(spec["identical_rtol"])
    data = collect({**doc["figure"], "results_root": root})
    data_cfg = io.read_json(doc["data"])
    out = []
    for pan, pdata in zip(doc["panels"], data):
        c = io.read_json(Path(root) / "problems" / pan["problem"] / "constants.json")
        delta0 = initial_gap(root, pan["run_config"], data_cfg)
        identical = identical_clients(c, rtol)
        entries = {e["method"]: e for e in pdata["entries"]}
        cells = []
        for row, comp_cfg in zip(spec["rows"], doc["compressors"]):
            t = task_inputs(c, comp_cfg, pan["ab_constants"], row["formula"], delta0, eps, identical)
            bits, p = cq_complexity(row["formula"], t)
            ran = None
            if row.get("run"):
                e = entries[row["run"]]
                # the bound's p* must be the p the run used, else theory and run differ in more than p
                if p is not None and not math.isclose(p, float(e["info"]["p"]), rel_tol=1e-9):
                    raise ValueError(f"{row['method']} on {pan['title']}: p = {p:.6g} here but the run used "
                                     f"{float(e['info']['p']):.6g}")
                ran = bits_to_reach(e, eps, pdata["panel"].get("budget"))
            cells.append((bits, p, ran))
        out.append({"title": pan["title"], "delta0": delta0, "identical": identical, "cells": cells})
    return out


def communication_rows(doc: dict, panels: list[dict]) -> tuple[list[str], list[list]]:
    header = ["Method", "Bound (bits per client)"]
    for p in panels:
        header += [f"{p['title']}: theory", f"{p['title']}: run"]
    rows = []
    for i, row in enumerate(doc["spec"]["rows"]):
        out = [row["method"], Math(row["bound"])]
        for p in panels:
            bits, _, ran = p["cells"][i]
            out += ["-" if bits is None else bits, "-" if ran is None else ran]
        rows.append(out)
    return header, rows


def ranked(panels: list[dict], which=None) -> tuple[list[float], list]:
    """``(theory, runs)`` over the rows with both, on the panels ``which`` (all: None)."""
    theory, runs = [], []
    for j, p in enumerate(panels):
        if which is not None and j not in which:
            continue
        for bits, _, ran in p["cells"]:
            if bits is not None and ran is not None:
                theory.append(bits)
                runs.append(ran)
    return theory, runs


def _rho(theory: list[float], runs: list) -> str:
    rho = rank_correlation(theory, runs) if len(theory) > 1 else math.nan
    return "undefined (no spread)" if math.isnan(rho) else f"{rho:.2f}"


def communication_note(doc: dict, panels: list[dict]) -> str:
    """The accuracy, each panel's Delta^0, clients and rank agreement, and the pooled one."""
    spec = doc["spec"]
    parts = []
    for j, p in enumerate(panels):
        theory, runs = ranked(panels, {j})
        reached = sum(1 for r in runs if not isinstance(r, Censored))
        parts.append(f"{p['title']}: Delta^0 = {p['delta0']:.5g}, clients "
                     f"{'identical' if p['identical'] else 'differ'}, {reached} of {len(runs)} runs reached "
                     f"epsilon, Spearman rho = {_rho(theory, runs)}")
    theory, runs = ranked(panels)
    return (f"Evaluated at epsilon = {float(spec['epsilon']):g} on ||grad f(x^k)||^2, with the runs' AB "
            f"convention ({', '.join(sorted({p['ab_constants'] for p in doc['panels']}))}) and p* of each row. "
            + "; ".join(parts) + f". Pooled over the {len(theory)} (panel, row) pairs with a bound and a run: "
            f"Spearman rho = {_rho(theory, runs)} (runs that never reached epsilon tie at the worst rank).")


def build_communication_complexity(doc: dict) -> None:
    """cq Table 1 evaluated (:class:`~gradcomp.kinds.figure_tables.CommunicationComplexityTable`)."""
    panels = communication_cells(doc)
    header, rows = communication_rows(doc, panels)
    write_table(doc, header, rows, doc["spec"]["caption"].strip() + " " + communication_note(doc, panels))
