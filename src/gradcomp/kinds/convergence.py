"""``kind: convergence``: curves of a metric against an axis, one panel per dataset or setting.

Each panel has curves: the figure's ``methods`` (one curve per method, rr Figures 1, 2, 8),
or its own ``curves`` or the figure's (a method with overrides, or a sweep of one config key, shift
Figures 1-2). Every curve is one run over its method's stepsize grid (the figure's
``grid``, or ``grids[method]`` for a method with two axes); the figure's ``select`` rule
picks the drawn replica of each run, and, for a sweep, the value that reaches
``reach.level`` first is drawn besides the ``show`` values.

Outputs: the figure (PNG, PDF), the plotted points (CSV), every replica's outcome
(``_selection.csv``), the caption (``_caption.md``, ``_caption.tex``), and with ``reach``
every curve's x at that level (``_reach.csv``).
"""

from __future__ import annotations

from ..registry import ConfigError
from .base import FIGURE_KINDS, ArtifactPlan, Kind


def _from_top(grid: list, stride: int) -> list:
    """Every ``stride``-th value of an ascending grid counted down from its largest value.

    A 2-D grid thinned for a short preview keeps its largest multipliers: over a tenth of
    the epochs they are the ones that can win (the smallest barely move).
    """
    return grid[::-1][::stride][::-1]


def grid_txt(grid: list) -> str:
    """A multiplier list in Hydra's grammar, with the float formatting run ids were made with."""
    return "[" + ",".join(repr(float(g)) for g in grid) + "]"


def value_txt(v) -> str:
    """A sweep value in Hydra's grammar (and in curve keys)."""
    return repr(v) if isinstance(v, float) else str(v)


def curves_of(spec: dict, panel: dict, sweep_stride: int = 1) -> list[dict]:
    """The panel's curves, sweeps expanded (a sweep that draws only some values keeps those
    and every ``sweep_stride``-th other): ``{key, method, label, overrides, value, sweep, best,
    show}``."""
    listed = panel.get("curves") or spec.get("curves") or [{"key": m, "method": m} for m in spec["methods"]]
    out = []
    for c in listed:
        sweep = c.get("sweep")
        if not sweep:
            out.append({"key": c["key"], "method": c["method"], "label": c.get("label"),
                        "overrides": list(c.get("overrides") or []), "value": None, "sweep": None, "show": True})
            continue
        show = sweep.get("show")
        values = sweep["values"]
        # every value is drawn when show is null: nothing to thin
        kept = set(values) if show is None else set(values[::sweep_stride]) | set(show)
        for v in (v for v in values if v in kept):
            out.append({"key": f"{c['key']}_{value_txt(v)}", "method": c["method"], "label": c.get("label"),
                        "overrides": [*(c.get("overrides") or []), f"{sweep['param']}={value_txt(v)}"],
                        "value": v, "sweep": c["key"], "best": bool(sweep.get("best", True)),
                        "show": show is None or v in show})
    return out


@FIGURE_KINDS.register("convergence")
class Convergence(Kind):
    outputs = {"png": ".png", "pdf": ".pdf", "csv": ".csv", "selection": "_selection.csv",
               "caption": "_caption.md", "caption_tex": "_caption.tex"}

    @classmethod
    def output_paths(cls, root: str, ident: str, spec: dict) -> dict[str, str]:
        out = super().output_paths(root, ident, spec)
        if spec.get("reach"):
            out["reach"] = f"{root}/{ident}_reach.csv"
        return out

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        from .. import compressors

        scale = planner.base["scale"]
        stride, stride2 = int(scale["grid_stride"]), int(scale["grid2d_stride"])
        grid = spec["grid"][::stride] if spec.get("grid") else None
        spec["grid_used"] = grid
        grids = spec.get("grids") or {}
        spec["grids_used"] = {m: {"grid": _from_top(g["grid"], stride2),
                                  "server_grid": _from_top(g["server_grid"], stride2)}
                              for m, g in grids.items()}
        if not spec["panels"]:
            raise ConfigError(f"figure {ident}: no panels")
        budget_fraction = float(scale["budget_fraction"])
        panels, runs = [], []
        for panel in spec["panels"]:
            curves = curves_of(spec, panel, int(scale["sweep_stride"]))
            if not curves:
                raise ConfigError(f"figure {ident}: a panel has no curves (set figure.methods or the panel's curves)")
            # A bit budget (the panel's, else the figure's) ends every run there and is where
            # the selection judges them.
            budget = panel.get("budget") or spec["select"].get("budget")
            budget = None if budget is None else float(budget) * budget_fraction
            budget_runs = [] if budget is None else [f"run.max_bits={budget!r}"]
            # "keys" keeps the curves' order: the plan's json files sort the dicts' keys
            doc = {"dataset": panel.get("dataset"), "title": panel.get("title"), "k": None, "keys": [], "runs": {},
                   "labels": {}, "methods": {}, "values": {}, "sweeps": {}, "show": {}, "epochs": {},
                   "budget": budget}
            for c in curves:
                method = c["method"]
                if method in grids:
                    g2 = spec["grids_used"][method]
                    steps = [f"stepsize.grid={grid_txt(g2['grid'])}",
                             f"stepsize.server_grid={grid_txt(g2['server_grid'])}"]
                elif grid is not None:
                    steps = [f"stepsize.grid={grid_txt(grid)}"]
                else:
                    raise ConfigError(f"figure {ident}: method {method!r} has no grid (set figure.grid or "
                                      f"figure.grids.{method})")
                extra = list(spec.get("run_overrides") or []) + budget_runs
                extra += list((spec.get("method_overrides") or {}).get(method, []))
                extra += c["overrides"]
                where = [f"dataset={panel['dataset']}"] if panel.get("dataset") else []
                rid, full = planner.add_run([*where, f"method={method}", *panel.get("overrides", []), *steps, *extra])
                key = c["key"]
                if key in doc["runs"]:
                    raise ConfigError(f"figure {ident}: two curves of a panel have the key {key!r}")
                doc["keys"].append(key)
                doc["runs"][key] = rid
                label = c["label"] or full["method"]["label"]
                doc["labels"][key] = label.format(value=c["value"]) if c["value"] is not None else label
                doc["methods"][key] = method
                doc["values"][key] = c["value"]
                doc["show"][key] = c["show"]
                doc["epochs"][key] = int(full["run"]["epochs"])
                if c["sweep"] is not None:
                    doc["sweeps"].setdefault(c["sweep"], {"keys": [], "best": c["best"]})["keys"].append(key)
                doc["dataset"] = doc["dataset"] or full["dataset"]["name"]
                comp = full["compressor"]
                if comp.get("k") is not None or comp.get("k_fraction") is not None:
                    doc["k"] = compressors.resolve_k(comp, full["dataset"]["n_features"])
                runs.append(rid)
            panels.append(doc)
        if any(p["sweeps"] for p in panels) and not spec.get("reach"):
            raise ConfigError(f"figure {ident}: a sweep needs figure.reach (the level its best value is chosen by)")
        return ArtifactPlan("convergence", spec, {"panels": panels}, cls.output_paths(planner.figures_root, ident, spec),
                            runs=runs)

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.figures import build_figure

        build_figure(doc)
