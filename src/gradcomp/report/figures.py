"""Convergence figures: one panel per (dataset, compressor), one line per method.

Everything plotted comes from the run traces; the CSV next to the figure holds exactly
the plotted points, and the selection CSV every multiplier's outcome and the winner.
"""

from __future__ import annotations

import csv
import io as _io
import textwrap
from pathlib import Path

import numpy as np

from ..pipeline import io
from ..pipeline.select import select
from . import style

STATUS = {0: "running", 1: "stopped", 2: "diverged"}


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "nan" if not np.isfinite(x) else repr(float(x))
    return str(x)


def _csv(rows: list[list], header: list[str]) -> str:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_fmt(v) for v in r])
    return buf.getvalue()


def collect(spec_doc: dict) -> list[dict]:
    """Per panel and method: the trace, the info and the selection."""
    spec, root = spec_doc["spec"], spec_doc["results_root"]
    sel = spec["select"]
    out = []
    for panel in spec_doc["panels"]:
        entries = []
        for method in spec["methods"]:
            rid = panel["runs"][method]
            trace = io.loadz(Path(root) / "runs" / rid / "trace.npz")
            info = io.read_json(Path(root) / "runs" / rid / "info.json")
            s = select(trace, sel["metric"], float(sel["tie_factor"]))
            entries.append({"method": method, "label": panel["labels"][method], "rid": rid,
                            "trace": trace, "info": info, "sel": s})
        out.append({"panel": panel, "entries": entries})
    return out


def _is_local(trace: dict) -> bool:
    return "eta_multipliers" in trace


def _shared(trace: dict, r: int) -> bool:
    """Whether replica r's trajectory is shared with other client stepsizes (gamma-free)."""
    traj = trace.get("trajectory")
    return traj is not None and int(np.sum(traj == traj[r])) > 1


def _chosen(e: dict) -> str:
    tr, s = e["trace"], e["sel"]
    if not _is_local(tr):
        return f"{e['label']} x{s.multiplier:g}"
    eta_m = float(tr["eta_multipliers"][s.index])
    if _shared(tr, s.index):
        return f"{e['label']} gamma any (x{s.multiplier:g} reported), eta x{eta_m:g}"
    return f"{e['label']} gamma x{s.multiplier:g}, eta x{eta_m:g}"


def _grids_text(spec: dict) -> str:
    parts = []
    grid = spec.get("grid_used")
    if grid:
        parts.append(f"{len(grid)} multipliers from {min(grid):g} to {max(grid):g}")
    grids = spec.get("grids_used") or {}
    for m in (m for m in spec["methods"] if m in grids):
        g, e = grids[m]["grid"], grids[m]["server_grid"]
        eta = f"eta x{e[0]:g} only" if len(e) == 1 else f"eta x{min(e):g}..{max(e):g}"
        parts.append(f"{m}: {len(g)} x {len(e)} (gamma, eta) multiplier pairs, gamma x{min(g):g}..{max(g):g}, {eta}")
    return "; ".join(parts)


def caption(spec_doc: dict, data: list[dict]) -> str:
    spec, scale = spec_doc["spec"], spec_doc["scale"]
    chosen = []
    for p in data:
        parts = [_chosen(e) for e in p["entries"]]
        chosen.append(f"{p['panel']['dataset']}: " + ", ".join(parts))
    lines = [
        f"**{spec['id']}** (scale={scale['name']}, {scale['epochs']} data passes, "
        f"{_grids_text(spec)}). {spec['caption'].strip()}",
        "",
        f"Selection: {spec['select']['rule'].strip()}",
        "",
        "Multipliers chosen: " + "; ".join(chosen) + ".",
    ]
    if spec.get("deviations"):
        lines += ["", "Differences from the paper's text: " + " ".join(spec["deviations"])]
    return "\n".join(lines) + "\n"


def _eta_cols(tr: dict, r: int) -> list:
    """``[server multiplier, eta]`` of replica r (NaN for a method with one stepsize)."""
    if not _is_local(tr):
        return [float("nan"), float("nan")]
    return [float(tr["eta_multipliers"][r]), float(tr["eta"][r])]


def build_figure(spec_doc: dict) -> None:
    import matplotlib.pyplot as plt

    spec, outs = spec_doc["spec"], spec_doc["outputs"]
    data = collect(spec_doc)
    style.apply()
    n = len(data)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    rows, sel_rows = [], []
    local = any(_is_local(e["trace"]) for p in data for e in p["entries"])
    for ax, p in zip(axes[0], data):
        panel = p["panel"]
        for e in p["entries"]:
            tr, s = e["trace"], e["sel"]
            y = tr[spec["select"]["metric"]][:, s.index]
            x = tr["passes"]
            ok = np.isfinite(y) & (y > 0)
            ax.plot(x[ok], y[ok], label=e["label"], lw=1.4)
            for t in np.flatnonzero(ok):
                row = [panel["dataset"], e["method"], e["label"], s.multiplier,
                       float(tr["gamma"][s.index]), float(x[t]), int(tr["rounds"][t]),
                       int(tr["bits"][t]), float(y[t]), float(tr["dist_sq"][t, s.index])]
                if local:
                    row[5:5] = _eta_cols(tr, s.index)
                rows.append(row)
            for r, m in enumerate(tr["multipliers"]):
                row = [panel["dataset"], e["method"], e["rid"], float(m), float(tr["gamma"][r]),
                       float(s.best[r]), float(s.reach[r]), STATUS[int(tr["status"][r])],
                       int(r == s.index), e["info"]["gamma_theory"], e["info"]["omega"]]
                if local:
                    row[5:5] = _eta_cols(tr, r)
                    row += [e["info"].get("eta_theory", float("nan")),
                            int(tr["trajectory"][r]) if "trajectory" in tr else r]
                sel_rows.append(row)
        ax.set_yscale("log")
        ax.set_xlim(*spec["xlim"])
        if spec.get("ylim"):
            ax.set_ylim(*spec["ylim"])
        ax.set_title(spec["panel_title"].format(dataset=panel["dataset"], k=panel["k"]))
        ax.set_xlabel(spec["xlabel"])
    axes[0][0].set_ylabel(spec["ylabel"])
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
               bbox_to_anchor=(0.5, 1.06))
    cap = caption(spec_doc, data)
    fig.text(0.0, -0.02, "\n".join(textwrap.wrap(cap.replace("**", "").replace("\n\n", " "), 190)),
             ha="left", va="top", fontsize=7)
    fig.tight_layout()
    for fmt in ("png", "pdf"):
        style.save(fig, outs[fmt])
    plt.close(fig)
    eta_head = ["server_multiplier", "eta"] if local else []
    io.write_text(outs["csv"], _csv(rows, ["dataset", "method", "label", "multiplier", "gamma", *eta_head,
                                           "data_passes", "rounds", "bits_per_client", "f_gap", "dist_sq"]))
    io.write_text(outs["selection"], _csv(sel_rows, [
        "dataset", "method", "run_id", "multiplier", "gamma", *eta_head, "best_f_gap", "passes_to_tie_level",
        "status", "selected", "gamma_theory", "omega", *(["eta_theory", "trajectory"] if local else [])]))
    io.write_text(outs["caption"], cap)
