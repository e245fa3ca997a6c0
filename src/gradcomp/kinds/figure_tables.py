"""Table kinds read off the runs of convergence figures (paper cq).

* ``selections``: the stepsize multiplier every curve of the ``figures`` chose, with the
  run's p, AB constants and theoretical stepsize (cq Figure 6 / Appendix D.2.2 as a table);
* ``communication_complexity``: the rows of cq Table 1 evaluated on the problems of each
  panel of the figure ``runs_from``, next to the bits the figure's curves needed.
"""

from __future__ import annotations

from ..registry import ConfigError
from .base import TABLE_KINDS, ArtifactPlan, Kind


def _figure(planner, ident: str, fig: str):
    """The plan of figure ``fig`` that table ``ident`` reads (planned before every table)."""
    fp = planner.artifacts("figures").get(fig)
    if fp is None:
        raise ConfigError(f"table {ident} reads the runs of figure {fig}: add {fig} to artifacts.figures")
    if fp.kind != "convergence":
        raise ConfigError(f"table {ident}: figure {fig} is of kind {fp.kind!r}, not a convergence figure with runs")
    return fp


def _figure_doc(fp) -> dict:
    """What :func:`gradcomp.report.figures.collect` reads of a figure, less the results root."""
    return {"spec": fp.spec, "panels": fp.panels}


@TABLE_KINDS.register("selections")
class SelectionsTable(Kind):
    """One row per figure, panel and curve: the replica the figure's ``select`` rule chose."""

    outputs = {"md": ".md", "tex": ".tex", "csv": ".csv"}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        if not spec["figures"]:
            raise ConfigError(f"table {ident}: list the figures whose selections it shows (table.figures)")
        figs = {fig: _figure(planner, ident, fig) for fig in spec["figures"]}
        doc = {"figures": [[fig, _figure_doc(fp)] for fig, fp in figs.items()]}
        runs = list(dict.fromkeys(rid for fp in figs.values() for p in fp.panels for rid in p["runs"].values()))
        return ArtifactPlan(spec["kind"], spec, doc, cls.output_paths(planner.figures_root, ident, spec), runs=runs)

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.figure_tables import build_selections

        build_selections(doc)


@TABLE_KINDS.register("communication_complexity")
class CommunicationComplexityTable(Kind):
    """cq Table 1: each row's bound (a function of :mod:`gradcomp.theory.cq` named by
    ``formula``) on every panel's problem, with the row's compressor (``compressor``:
    overrides), and, for a row that names a curve of ``runs_from`` (``run``), the bits per
    client that curve needed at its chosen multiplier to reach ``epsilon``."""

    outputs = {"md": ".md", "tex": ".tex", "csv": ".csv"}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        from ..theory.cq import CQ_COMPLEXITIES

        if spec.get("epsilon") is None or not spec.get("runs_from") or spec.get("identical_rtol") is None:
            raise ConfigError(f"table {ident}: set epsilon, runs_from and identical_rtol")
        fp = _figure(planner, ident, spec["runs_from"])
        comps = []
        for row in spec["rows"]:
            if row["formula"] not in CQ_COMPLEXITIES:
                raise ConfigError(f"table {ident}: row {row['method']!r} names formula {row['formula']!r}; "
                                  f"known: {sorted(CQ_COMPLEXITIES)}")
            comps.append(planner.compose(list(row["compressor"]), ("compressor",))["compressor"])
        panels = []
        for p in fp.panels:
            rids = list(p["runs"].values())
            rcs = [planner.plan.runs[rid] for rid in rids]
            pids = {planner.plan.run_problem[rid] for rid in rids}
            if len(pids) != 1:
                raise ConfigError(f"table {ident}: the curves of panel {p['title']!r} of {spec['runs_from']} "
                                  "run on different problems")
            conventions = {rc["method"]["ab_constants"] for rc in rcs if "ab_constants" in rc["method"]}
            if len(conventions) != 1:
                raise ConfigError(f"table {ident}: the runs of panel {p['title']!r} use AB constants "
                                  f"{sorted(conventions)}; the rows need one convention")
            for row, comp in zip(spec["rows"], comps):
                key = row.get("run")
                if key is None:
                    continue
                if key not in p["runs"]:
                    raise ConfigError(f"table {ident}: {spec['runs_from']} has no curve {key!r} in panel "
                                      f"{p['title']!r}")
                if planner.plan.runs[p["runs"][key]]["compressor"] != comp:
                    raise ConfigError(f"table {ident}: row {row['method']!r} evaluates another compressor "
                                      f"than the curve {key!r} it is compared with")
            panels.append({"title": p["title"], "problem": pids.pop(), "run_config": rcs[0],
                           "ab_constants": conventions.pop()})
        # the data location (a problem is rebuilt for f(x^0))
        doc = {"figure": _figure_doc(fp), "panels": panels, "compressors": comps, "data": planner.plan.data_path}
        runs = [rid for p in fp.panels for rid in p["runs"].values()]
        return ArtifactPlan(spec["kind"], spec, doc, cls.output_paths(planner.figures_root, ident, spec),
                            runs=runs, problems=[p["problem"] for p in panels])

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.figure_tables import build_communication_complexity

        build_communication_complexity(doc)
