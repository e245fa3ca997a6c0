"""Table kinds computed from problem constants (and runs): rr Tables 1-6.

* ``datasets``, ``class_counts``, ``constants``: the problems of ``datasets`` (rr Tables 2-6);
* ``complexity``: the rows of rr Table 1 evaluated on those problems' constants, next to the
  rounds the runs of the figure ``runs_from`` needed.
"""

from __future__ import annotations

from ..registry import ConfigError
from .base import TABLE_KINDS, ArtifactPlan, Kind


class ProblemTable(Kind):
    """A table over the problems of ``datasets`` (their constants and splits)."""

    outputs = {"md": ".md", "tex": ".tex", "csv": ".csv"}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        from .. import compressors

        probs, ks = [], {}
        for ds in spec["datasets"]:
            pid, full = planner.add_problem([f"dataset={ds}"])
            probs.append([ds, pid])
            ks[ds] = compressors.resolve_k(full["compressor"], full["dataset"]["n_features"])
        doc = {"problems": probs, "k": ks, "runs": {}, "select": None}
        return ArtifactPlan(spec["kind"], spec, doc, cls.output_paths(planner.figures_root, ident, spec),
                            problems=[pid for _, pid in probs])

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.tables import build_problem_table

        build_problem_table(doc)


for _name in ("datasets", "class_counts", "constants"):
    TABLE_KINDS.register(_name, type(f"{_name.title().replace('_', '')}Table", (ProblemTable,), {}))


@TABLE_KINDS.register("complexity")
class ComplexityTable(ProblemTable):
    """rr Table 1 evaluated; ``runs_from`` names the figure whose runs give the rounds."""

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        ap = super().plan(ident, spec, planner)
        if spec.get("runs_from"):
            fig = spec["runs_from"]
            fp = planner.artifacts("figures").get(fig)
            if fp is None:
                raise ConfigError(f"table {ident} reads the runs of figure {fig}: add {fig} to "
                                  "artifacts.figures (or set the table's runs_from to null)")
            ap.doc["runs"] = {p["dataset"]: dict(p["runs"]) for p in fp.panels if p["dataset"] in spec["datasets"]}
            ap.doc["select"] = dict(fp.spec["select"])
            ap.runs = [rid for runs in ap.doc["runs"].values() for rid in runs.values()]
        return ap

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.tables import build_complexity

        build_complexity(doc)


@TABLE_KINDS.register("iteration_complexity")
class IterationComplexityTable(Kind):
    """shift Table 1: each row's O~ complexity, previous and the paper's, evaluated on the
    problem and compressor of ``overrides``, next to the iterations the row's run (a curve of
    a figure: ``run: {figure, curve}``) needed to reach ``epsilon``."""

    outputs = {"md": ".md", "tex": ".tex", "csv": ".csv"}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        pid, full = planner.add_problem(list(spec["overrides"]))
        figures = planner.artifacts("figures")
        runs, selects = [], {}
        for row in spec["rows"]:
            where = row.get("run")
            if not where:
                runs.append(None)
                continue
            fp = figures.get(where["figure"])
            if fp is None:
                raise ConfigError(f"table {ident} reads the runs of figure {where['figure']}: add it to "
                                  "artifacts.figures")
            rid = next((p["runs"][where["curve"]] for p in fp.panels if where["curve"] in p["runs"]), None)
            if rid is None:
                raise ConfigError(f"table {ident}: figure {where['figure']} has no curve {where['curve']!r}")
            runs.append(rid)
            selects[where["figure"]] = dict(fp.spec["select"])
        doc = {"problems": [[full["dataset"]["name"], pid]], "compressor": full["compressor"],
               "d": int(full["dataset"]["n_features"]), "M": int(full["problem"]["n_clients"]),
               "row_runs": runs, "selects": selects}
        return ArtifactPlan(spec["kind"], spec, doc, cls.output_paths(planner.figures_root, ident, spec),
                            runs=[r for r in runs if r], problems=[pid])

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.tables import build_iteration_complexity

        build_iteration_complexity(doc)
