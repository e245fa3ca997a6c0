"""Data and constant tables, rendered to CSV, Markdown and LaTeX from one list of rows.

Every number comes from the problem caches (``constants.json``, ``clients.json``) that
the pipeline computed from the data; nothing is typed in.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..pipeline import io
from ..theory.complexity import TheoryInputs, complexity
from .captions import tex_escape
from .figures import _csv


def _problem(root: str, pid: str) -> tuple[dict, dict]:
    d = Path(root) / "problems" / pid
    return io.read_json(d / "constants.json"), io.read_json(d / "clients.json")


def rows_datasets(doc: dict):
    header = ["dataset", "M", "N", "d", "n_m_first", "n_m_last"]
    rows = []
    for ds, pid in doc["problems"]:
        c, _ = _problem(doc["results_root"], pid)
        rows.append([ds, c["M"], c["N"], c["d"], c["n_m"][0], c["n_m"][-1]])
    return header, rows


def rows_class_counts(doc: dict):
    (ds, pid), = doc["problems"]
    _, cl = _problem(doc["results_root"], pid)
    header = ["client", "label_minus_1", "label_plus_1"]
    return header, [[m + 1, int(a), int(b)] for m, (a, b) in enumerate(cl["label_counts"])]


def rows_constants(doc: dict):
    header = ["dataset", "L", "L_max", "mu", "lambda", "L_m_max", "L_m_min", "k", "b_m_first", "b_m_last",
              "f_star", "zeta_sq", "sigma_sq"]
    rows = []
    for ds, pid in doc["problems"]:
        c, _ = _problem(doc["results_root"], pid)
        rows.append([ds, c["L"], c["L_max"], c["mu"], c["lam"], max(c["L_m"]), min(c["L_m"]),
                     doc["k"][ds], c["b_m"][0], c["b_m"][-1], c["f_star"], c["zeta_sq"], c["sigma_sq"]])
    return header, rows


class Math(str):
    """A cell holding LaTeX math: ``$...$`` in Markdown and LaTeX, the bare string in CSV."""


def theory_inputs(spec: dict, c: dict, k: int) -> TheoryInputs:
    """Table 1's symbols from a problem's computed constants (spec 5.1, 'How to evaluate')."""
    conv = spec["n"]
    if conv == "min_n_m":
        n = min(c["n_m"])
    elif conv == "steps":
        n = c["n_steps"]
    else:
        raise ValueError(f"table {spec['id']}: n must be min_n_m or steps, not {conv!r}")
    return TheoryInputs(L_max=c["L_max"], mu=c["mu"], omega=c["d"] / k - 1.0, M=c["M"], n=n,
                        sigma_sq=c["sigma_sq"], zeta_sq=c["zeta_sq"], sigma_n_sq=c["sigma_n_sq"],
                        eps=float(spec["epsilon"]))


class Censored(str):
    """A run that never reached the target: ``>R``, R the rounds it ran."""


def rounds_to_reach(trace: dict, j: int, eps: float):
    """Communication rounds until ``||x_t - x*||^2 <= eps`` first holds in replica ``j``.

    Returns the round count, or :class:`Censored` with the rounds run when it never does.
    """
    hit = np.asarray(trace["dist_sq"])[:, j] <= eps   # NaN (diverged, frozen) compares False
    rounds = np.asarray(trace["rounds"])
    return int(rounds[np.argmax(hit)]) if hit.any() else Censored(f">{int(rounds[-1])}")


def rank_correlation(theory: list[float], runs: list) -> float:
    """Spearman's rho between theory's rounds and the runs' (censored runs tie at the worst rank).

    NaN when either side has no spread (every run censored, say).
    """
    from scipy.stats import rankdata

    a = rankdata(np.asarray(theory, dtype=float))
    b = rankdata([math.inf if isinstance(r, Censored) else float(r) for r in runs])
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _run_cells(doc: dict) -> dict:
    """``{(dataset, method): (rounds at multiplier 1, rounds at the figure's choice, that multiplier)}``."""
    from ..pipeline.select import select

    eps = float(doc["spec"]["epsilon"])
    sel = doc.get("select") or {}
    out = {}
    for ds, runs in (doc.get("runs") or {}).items():
        for method, rid in runs.items():
            tr = io.loadz(Path(doc["results_root"]) / "runs" / rid / "trace.npz")
            mult = [float(m) for m in tr["multipliers"]]
            chosen = select(tr, sel["metric"], float(sel["tie_factor"]))
            at_one = rounds_to_reach(tr, mult.index(1.0), eps) if 1.0 in mult else "n/a"
            out[ds, method] = (at_one, rounds_to_reach(tr, chosen.index, eps), chosen.multiplier)
    return out


def rows_complexity(doc: dict, cells: dict):
    """rr Table 1: the symbolic rows, each evaluated on every dataset and, where the table
    names the runs of a figure, the rounds those runs needed (``cells``, from
    :func:`_run_cells`: at multiplier 1 and at the multiplier the figure chose)."""
    spec = doc["spec"]
    dsets = [ds for ds, _ in doc["problems"]]
    with_runs = bool(cells)
    header = ["Method", "Complexity", "RR?", "C?", "H?", "CVX?"]
    for ds in dsets:
        header += [ds] + ([f"{ds} run x1", f"{ds} run tuned"] if with_runs else [])
    inputs = {ds: theory_inputs(spec, _problem(doc["results_root"], pid)[0], doc["k"][ds])
              for ds, pid in doc["problems"]}
    rows = []
    for r in spec["rows"]:
        row = [r["method"], Math(r["complexity"]), r["rr"], r["c"], r["h"], r["cvx"]]
        for ds in dsets:
            row.append(complexity(r["formula"], inputs[ds]))
            if with_runs:
                at_one, tuned, _ = cells.get((ds, r.get("run")), ("-", "-", None))
                row += [at_one, tuned]
        rows.append(row)
    return header, rows


def complexity_note(doc: dict, rows: list[list], cells: dict) -> str:
    """The conventions' values, the method theory ranks first and, with runs, the method the
    runs rank first and the rank correlation of the two, for the caption."""
    spec = doc["spec"]
    dsets = [ds for ds, _ in doc["problems"]]
    width = 3 if cells else 1
    ranked = [(r, spec_row) for r, spec_row in zip(rows, spec["rows"]) if spec_row.get("rank")]
    parts = []
    for j, (ds, pid) in enumerate(doc["problems"]):
        col = 6 + width * j
        t = theory_inputs(spec, _problem(doc["results_root"], pid)[0], doc["k"][ds])
        comp = [r for r in rows if r[3] == "yes"]
        best = min(comp, key=lambda r: r[col])
        text = (f"{ds}: n = {t.n:g}, omega = {t.omega:.5g}, kappa = {t.kappa:.5g}; "
                f"theory ranks first among compressed methods {best[0]} ({best[col]:.3g} rounds)")
        if cells and ranked:
            theory = [r[col] for r, _ in ranked]
            tuned = [cells[ds, sr["run"]][1] for _, sr in ranked]
            reached = [(v, r[0]) for (r, _), v in zip(ranked, tuned) if not isinstance(v, Censored)]
            first = (f"the runs rank first {min(reached)[1]} ({min(reached)[0]} rounds)" if reached
                     else "no run reached epsilon")
            mults = ", ".join(f"{sr['run']} x{cells[ds, sr['run']][2]:g}" for _, sr in ranked)
            rho = rank_correlation(theory, tuned)
            text += (f"; at the multipliers of {spec['runs_from']} ({mults}) {first}; Spearman rho "
                     f"(theory vs tuned runs, {len(ranked)} methods) = "
                     + ("undefined (no spread)" if math.isnan(rho) else f"{rho:.2f}"))
        parts.append(text)
    return (f"Evaluated at epsilon = {float(spec['epsilon']):g} with n = {spec['n']}. "
            + "; ".join(parts) + ".") if dsets else ""


ROWS = {"datasets": rows_datasets, "class_counts": rows_class_counts, "constants": rows_constants}


def _cell(v) -> str:
    if isinstance(v, Math):
        return f"${v}$"
    if isinstance(v, (float, np.floating)):
        return f"{v:.5g}"
    return str(v)


def markdown(title: str, caption: str, header: list[str], rows: list[list]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + f"\n\n{caption.strip()}\n"


def _tex_cell(v) -> str:
    return f"${v}$" if isinstance(v, Math) else tex_escape(_cell(v))


def latex(title: str, caption: str, header: list[str], rows: list[list]) -> str:
    cols = "l" + "r" * (len(header) - 1)
    body = [r"\begin{table}[t]", r"\centering", rf"\caption{{{tex_escape(title)}. {tex_escape(caption.strip())}}}",
            rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(tex_escape(h) for h in header) + r" \\",
            r"\midrule"]
    body += [" & ".join(_tex_cell(v) for v in r) + r" \\" for r in rows]
    body += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(body) + "\n"


def write_table(doc: dict, header: list[str], rows: list[list], caption: str) -> None:
    """The table as CSV, Markdown and LaTeX, from one list of rows."""
    spec, outs = doc["spec"], doc["outputs"]
    io.write_text(outs["csv"], _csv(rows, header))
    io.write_text(outs["md"], markdown(spec["title"], caption, header, rows))
    io.write_text(outs["tex"], latex(spec["title"], caption, header, rows))


def build_problem_table(doc: dict) -> None:
    """rr Tables 2-6: ``ROWS[kind]`` of the problems' constants and splits."""
    header, rows = ROWS[doc["spec"]["kind"]](doc)
    write_table(doc, header, rows, doc["spec"]["caption"].strip())


def build_complexity(doc: dict) -> None:
    """rr Table 1 evaluated, with the rounds of the runs of ``runs_from``."""
    cells = _run_cells(doc)      # the traces are read once, for the rows and the caption
    header, rows = rows_complexity(doc, cells)
    write_table(doc, header, rows, doc["spec"]["caption"].strip() + " " + complexity_note(doc, rows, cells))


def build_iteration_complexity(doc: dict) -> None:
    """shift Table 1 (:class:`~gradcomp.kinds.tables.IterationComplexityTable`)."""
    from .. import compressors
    from ..theory.shift import ShiftInputs, shift_complexity
    from .axes import y_values

    spec = doc["spec"]
    (name, pid), = doc["problems"]
    c, _ = _problem(doc["results_root"], pid)
    q = compressors.build(doc["compressor"], doc["d"], doc["M"])
    omega = float(q.client_omega)
    p = float(spec["p"]) if spec.get("p") is not None else 1.0 / (omega + 1.0)
    t = ShiftInputs(kappa=max(c["L_m"]) / c["mu"], omega=omega, n=int(c["M"]), delta=float(spec["delta"]), p=p)
    eps = float(spec["epsilon"])
    log = math.log(1.0 / eps)
    header = ["Method", "Previous", "This paper", "previous evaluated", "this paper evaluated",
              "this paper x log(1/eps)", "iterations of our run", "our run"]
    rows, theory, measured = [], [], []
    for row, rid in zip(spec["rows"], doc["row_runs"]):
        prev = shift_complexity(row["previous_formula"], t) if row.get("previous_formula") else "-"
        ours = shift_complexity(row["formula"], t)
        ran, where = "-", "-"
        if rid is not None:
            tr = io.loadz(Path(doc["results_root"]) / "runs" / rid / "trace.npz")
            rel = y_values(tr, "dist_sq_rel")[:, 0]
            hit = np.flatnonzero(rel <= eps)
            if hit.size:
                ran = int(tr["rounds"][hit[0]])
            else:
                ok = np.isfinite(rel)
                ran = Censored(f">{int(tr['rounds'][-1])} (lowest {np.min(rel[ok]):.2g})")
            where = f"{row['run']['figure']}: {row['run']['curve']}"
            if row.get("rank", True):
                theory.append(ours * log)
                measured.append(ran)
        rows.append([row["method"], Math(row["previous"]) if row["previous"] != "-" else "-", Math(row["ours"]),
                     prev, ours, ours * log, ran, where])
    rho = rank_correlation(theory, measured) if len(theory) > 1 else math.nan
    note = (f"Evaluated on {name} with {q.describe()}: kappa = max_m L_m / mu = {t.kappa:.5g}, omega = {omega:.5g}, "
            f"n = {t.n}, delta = {t.delta:g}, p = {p:.4g}; epsilon = {eps:g} on ||x^k - x*||^2 / ||x^0 - x*||^2, "
            f"log(1/eps) = {log:.4g}. Spearman rho between 'this paper x log(1/eps)' and our runs' iterations "
            f"({len(theory)} rows with runs, runs that never reached epsilon tied last): "
            + ("undefined (no spread)" if math.isnan(rho) else f"{rho:.2f}") + ".")
    write_table(doc, header, rows, spec["caption"].strip() + " " + note)
