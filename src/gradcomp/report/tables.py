"""Data and constant tables, rendered to CSV, Markdown and LaTeX from one list of rows.

Every number comes from the problem caches (``constants.json``, ``clients.json``) that
the pipeline computed from the data; nothing is typed in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..pipeline import io
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


ROWS = {"datasets": rows_datasets, "class_counts": rows_class_counts, "constants": rows_constants}


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.5g}"
    return str(v)


def markdown(title: str, caption: str, header: list[str], rows: list[list]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + f"\n\n{caption.strip()}\n"


def _tex_escape(s: str) -> str:
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def latex(title: str, caption: str, header: list[str], rows: list[list]) -> str:
    cols = "l" + "r" * (len(header) - 1)
    body = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex_escape(title)}. {_tex_escape(caption.strip())}}}",
            rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(_tex_escape(h) for h in header) + r" \\",
            r"\midrule"]
    body += [" & ".join(_tex_escape(_cell(v)) for v in r) + r" \\" for r in rows]
    body += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(body) + "\n"


def build_table(doc: dict) -> None:
    spec, outs = doc["spec"], doc["outputs"]
    header, rows = ROWS[spec["kind"]](doc)
    io.write_text(outs["csv"], _csv(rows, header))
    io.write_text(outs["md"], markdown(spec["title"], spec["caption"], header, rows))
    io.write_text(outs["tex"], latex(spec["title"], spec["caption"], header, rows))
