"""Convergence figures (``kind: convergence``): one panel per dataset or setting, one line per curve.

Everything plotted comes from the run traces; the CSV next to the figure holds exactly
the plotted points, the selection CSV every replica's outcome and the winner, and, when the
figure sets ``reach``, the reach CSV every curve's x at that level.
"""

from __future__ import annotations

import csv
import io as _io
import math
from pathlib import Path

import numpy as np

from ..methods.base import STEP_AXES
from ..pipeline import io
from ..pipeline.select import select
from . import style
from .axes import X_AXES, x_values, y_values
from .captions import draw_caption, write_captions

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


def _count(v: float):
    """A bit count: an int when whole (every fixed-length message), else the float."""
    return int(v) if float(v).is_integer() else float(v)


def collect(spec_doc: dict) -> list[dict]:
    """Per panel and curve: the trace, the info and the selection."""
    spec, root = spec_doc["spec"], spec_doc["results_root"]
    sel = spec["select"]
    out = []
    for panel in spec_doc["panels"]:
        entries = []
        for key in panel["keys"]:
            rid = panel["runs"][key]
            trace = io.loadz(Path(root) / "runs" / rid / "trace.npz")
            info = io.read_json(Path(root) / "runs" / rid / "info.json")
            within = budget_mask(panel.get("budget"), trace, info)
            s = select(trace, sel["metric"], float(sel["tie_factor"]), within=within)
            entries.append({"method": key, "label": panel["labels"][key], "rid": rid, "trace": trace, "info": info,
                            "sel": s, "value": panel.get("values", {}).get(key),
                            "show": panel.get("show", {}).get(key, True)})
        out.append({"panel": panel, "entries": entries})
    return out


def budget_mask(budget, trace: dict, info: dict):
    """The records within a per-client bit budget (None: every record)."""
    if budget is None:
        return None
    return x_values(trace, info, "bits") <= float(budget)


def extra_axes(tr: dict) -> list[str]:
    """The stepsize axes of a trace after the first (gamma)."""
    return [a for a in STEP_AXES if a != "gamma" and f"{a}_multipliers" in tr]


def _shared(trace: dict, r: int) -> bool:
    """Whether replica r's trajectory is shared with other replicas (a free axis)."""
    traj = trace.get("trajectory")
    return traj is not None and int(np.sum(traj == traj[r])) > 1


def _chosen(e: dict) -> str:
    tr, s = e["trace"], e["sel"]
    others = extra_axes(tr)
    if not others:
        return f"{e['label']} x{s.multiplier:g}"
    rest = ", ".join(f"{a} x{float(tr[f'{a}_multipliers'][s.index]):g}" for a in others)
    if _shared(tr, s.index):
        return f"{e['label']} gamma any (x{s.multiplier:g} reported), {rest}"
    return f"{e['label']} gamma x{s.multiplier:g}, {rest}"


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


def _panel_name(panel: dict) -> str:
    return panel.get("title") or panel["dataset"]


def caption(spec_doc: dict, data: list[dict], best: dict) -> str:
    spec, scale = spec_doc["spec"], spec_doc["scale"]
    chosen = []
    for p in data:
        parts = [_chosen(e) for e in p["entries"] if _drawn(e, best)]
        chosen.append(f"{_panel_name(p['panel'])}: " + ", ".join(parts))
    epochs = sorted({e for p in spec_doc["panels"] for e in p["epochs"].values()})
    passes = "/".join(str(e) for e in epochs) + (" data passes" if max(epochs) <= scale["epochs"]
                                                  else " data passes at most")
    budgets = [p.get("budget") for p in spec_doc["panels"]]
    if all(b is not None for b in budgets):
        passes = "runs end at a budget of " + "/".join(f"{b:g}" for b in dict.fromkeys(budgets)) + " bits per client"
    lines = [
        f"**{spec['id']}** (scale={scale['name']}, {passes}, "
        f"{_grids_text(spec)}). {spec['caption'].strip()}",
        "",
        f"Selection: {spec['select']['rule'].strip()}",
        "",
        "Multipliers chosen: " + "; ".join(chosen) + ".",
    ]
    if best:
        lines += ["", "Best value of each sweep (first to reach "
                  f"{spec['y'] or spec['select']['metric']} <= {spec['reach']['level']:g}): "
                  + "; ".join(f"{label}" for label in best.values()) + "."]
    if spec.get("deviations"):
        lines += ["", "Differences from the paper's text: " + " ".join(spec["deviations"])]
    return "\n".join(lines) + "\n"


def _axis_cols(tr: dict, r: int, axes: list[str]) -> list:
    """``[multiplier, stepsize]`` of replica r on every extra axis (NaN where it has none)."""
    out = []
    for a in axes:
        if f"{a}_multipliers" in tr:
            out += [float(tr[f"{a}_multipliers"][r]), float(tr[a][r])]
        else:
            out += [float("nan"), float("nan")]
    return out


def reach_x(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """The first x at which y <= level (NaN if never)."""
    hit = np.flatnonzero(y <= level)  # NaN compares False
    return float(x[hit[0]]) if len(hit) else math.nan


def _best_of_sweeps(data: list[dict], spec: dict) -> dict:
    """``{(panel index, curve key): label}`` of each sweep's best value: the fewest x to
    ``reach.level`` (ties: the lowest final y; none reached: the lowest y)."""
    best = {}
    if not spec.get("reach"):
        return best
    level, y_name = float(spec["reach"]["level"]), spec.get("y") or spec["select"]["metric"]
    for i, p in enumerate(data):
        by_key = {e["method"]: e for e in p["entries"]}
        for sweep in p["panel"].get("sweeps", {}).values():
            if not sweep["best"]:
                continue
            keys = sweep["keys"]

            def score(k):
                e = by_key[k]
                y = y_values(e["trace"], y_name)[:, e["sel"].index]
                x = x_values(e["trace"], e["info"], spec["x"])
                rx = reach_x(x, y, level)
                low = np.nanmin(np.where(np.isfinite(y), y, np.nan)) if np.isfinite(y).any() else math.inf
                return (0, rx, low) if np.isfinite(rx) else (1, low, 0.0)
            k = min(keys, key=score)
            best[i, k] = by_key[k]["label"]
    return best


STYLES = ("-", "--", ":", "-.")


def _thinned(ok: np.ndarray, max_points) -> np.ndarray:
    """``ok`` keeping at most ``max_points`` of its True entries: every k-th and the last."""
    idx = np.flatnonzero(ok)
    if not max_points or len(idx) <= max_points:
        return ok
    step = -(-len(idx) // (int(max_points) - 1))
    keep = np.zeros_like(ok)
    keep[idx[::step]] = True
    keep[idx[-1]] = True
    return keep


def _style_of(panel: dict, key: str) -> dict:
    """The line style of a curve of a sweep (the panel's n-th sweep: STYLES[n]); none otherwise."""
    for n, sweep in enumerate(panel.get("sweeps", {}).values()):
        if key in sweep["keys"]:
            return {"ls": STYLES[n % len(STYLES)]}
    return {}


def _drawn(e: dict, best: dict, i: int | None = None) -> bool:
    return e["show"] or any(k[1] == e["method"] and (i is None or k[0] == i) for k in best)


def build_figure(spec_doc: dict) -> None:
    import matplotlib.pyplot as plt

    spec, outs = spec_doc["spec"], spec_doc["outputs"]
    data = collect(spec_doc)
    x_name, y_name = spec.get("x", "passes"), spec.get("y") or spec["select"]["metric"]
    x_col = X_AXES[x_name].column
    best = _best_of_sweeps(data, spec)
    style.apply()
    n = len(data)
    ncols = min(int(spec.get("ncols") or n), n)
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    for ax in grid.ravel()[n:]:
        ax.set_visible(False)
    axes = list(grid.ravel()[:n])
    rows, sel_rows, reach_rows = [], [], []
    extra = sorted({a for p in data for e in p["entries"] for a in extra_axes(e["trace"])}, key=list(STEP_AXES).index)
    titled = any(p["panel"].get("title") for p in data)
    bounds = bool(spec.get("bounds"))
    metrics = [m for m in data[0]["entries"][0]["trace"] if m in _recorded_metrics(data)]
    for i, (ax, p) in enumerate(zip(axes, data)):
        panel = p["panel"]
        lead = [panel["title"]] if titled else []
        for e in p["entries"]:
            tr, s = e["trace"], e["sel"]
            y = y_values(tr, y_name)[:, s.index]
            x = x_values(tr, e["info"], x_name)
            if spec.get("reach"):
                reach_rows.append([*lead, panel["dataset"], e["method"], e["label"], e["value"], s.multiplier,
                                   reach_x(x, y, float(spec["reach"]["level"])), float(np.nanmin(y)),
                                   STATUS[int(tr["status"][s.index])], int(e["show"]),
                                   int((i, e["method"]) in best)])
            for r, m in enumerate(tr["multipliers"]):
                row = [*lead, panel["dataset"], e["method"], e["rid"], float(m), float(tr["gamma"][r]),
                       *_axis_cols(tr, r, extra), float(s.best[r]), float(s.reach[r]),
                       STATUS[int(tr["status"][r])], int(r == s.index), e["info"]["gamma_theory"],
                       float("nan") if e["info"]["omega"] is None else e["info"]["omega"]]
                if extra:
                    row += [e["info"].get(f"{a}_theory", float("nan")) for a in extra]
                    row += [int(tr["trajectory"][r]) if "trajectory" in tr else r]
                sel_rows.append(row)
            if not _drawn(e, best, i):
                continue
            ok = np.isfinite(y) & (y > 0)
            ok = _thinned(ok, spec.get("max_points"))
            # the curves of one sweep share a line style; the sweep's best value says so
            label = e["label"] + (" (best)" if (i, e["method"]) in best else "")
            line, = ax.plot(x[ok], y[ok], label=label, lw=1.4, **_style_of(panel, e["method"]))
            bound = None
            if bounds and "bound_rate" in tr:
                k = tr["rounds"].astype(float)
                bound = tr["bound_rate"][s.index] ** k + tr["bound_floor"][s.index]
                ax.plot(x, bound, ls="--", lw=1.0, color=line.get_color())
            for t in np.flatnonzero(ok):
                row = [*lead, panel["dataset"], e["method"], e["label"], s.multiplier, float(tr["gamma"][s.index]),
                       *_axis_cols(tr, s.index, extra), float(tr["passes"][t]), int(tr["rounds"][t]),
                       _count(tr["bits"][t]), *[float(tr[m][t, s.index]) for m in metrics]]
                if y_name not in metrics:
                    row.append(float(y[t]))
                if x_col not in ("data_passes", "rounds", "bits_per_client"):
                    row.append(_count(x[t]))
                if bounds:
                    row.append(float(bound[t]) if bound is not None else float("nan"))
                rows.append(row)
        ax.set_yscale("log")
        if spec.get("xscale", "linear") != "linear":
            ax.set_xscale(spec["xscale"])
        elif spec.get("xsci"):
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        if spec.get("xlim"):
            ax.set_xlim(*spec["xlim"])
        if spec.get("ylim"):
            ax.set_ylim(*spec["ylim"])
        ax.set_title(spec["panel_title"].format(dataset=panel["dataset"], k=panel["k"], title=panel.get("title")))
        ax.set_xlabel(spec["xlabel"])
    for row in grid:
        row[0].set_ylabel(spec["ylabel"])
    per_panel = [ax.get_legend_handles_labels() for ax in axes]
    if all(lab == per_panel[0][1] for _, lab in per_panel):
        handles, labels = per_panel[0]
        if len(labels) <= 6:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
                       bbox_to_anchor=(0.5, 1.06))
        else:   # two rows, above the panels' titles
            fig.legend(handles, labels, loc="lower center", ncol=math.ceil(len(labels) / 2), frameon=False,
                       bbox_to_anchor=(0.5, 1.0))
    else:
        for ax in axes:
            ax.legend(frameon=False, fontsize=7, loc=spec.get("legend_loc") or "best")
    cap = caption(spec_doc, data, best)
    fig.tight_layout()
    draw_caption(fig, spec_doc, cap, 190 if n > 1 else 75)
    for fmt in ("png", "pdf"):
        style.save(fig, outs[fmt])
    plt.close(fig)
    lead_head = ["panel"] if titled else []
    axis_head = [h for a in extra for h in (STEP_AXES[a][0], a)]
    head = [*lead_head, "dataset", "method", "label", "multiplier", "gamma", *axis_head, "data_passes", "rounds",
            "bits_per_client", *metrics]
    if y_name not in metrics:
        head.append(y_name)
    if x_col not in ("data_passes", "rounds", "bits_per_client"):
        head.append(x_col)
    if bounds:
        head.append("bound")
    io.write_text(outs["csv"], _csv(rows, head))
    metric = spec["select"]["metric"]
    io.write_text(outs["selection"], _csv(sel_rows, [
        *lead_head, "dataset", "method", "run_id", "multiplier", "gamma", *axis_head, f"best_{metric}",
        "passes_to_tie_level", "status", "selected", "gamma_theory", "omega",
        *([f"{a}_theory" for a in extra] + ["trajectory"] if extra else [])]))
    write_captions(spec_doc, cap)
    if "reach" in outs:
        io.write_text(outs["reach"], _csv(reach_rows, [
            *lead_head, "dataset", "curve", "label", "value", "multiplier", f"{x_col}_to_level", f"lowest_{y_name}",
            "status", "shown", "best_of_sweep"]))


def _recorded_metrics(data: list[dict]) -> set:
    from ..methods.metrics import METRICS

    return {m for p in data for e in p["entries"] for m in e["trace"] if m in METRICS}
