"""From ``conf/`` plus overrides to the list of jobs: problems, runs, figures, tables.

The plan is a pure function of the config tree and the overrides (no clocks, no
globbing), so the Snakefile can rebuild it on every parse. Every run is one Hydra
composition (the same one ``gradcomp run`` performs for the same overrides), named by
the hash of its resolved, canonical form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import compressors
from ..config import ConfigError, composer, to_plain
from . import io
from .identity import problem_config, problem_id, run_config, run_id
from .run import multipliers_of
from .shards import plan_shards
from .studies import StudyPlan, plan_study, study_doc


@dataclass
class FigurePlan:
    spec: dict
    panels: list[dict]  # {dataset, k, runs: {method: rid}, labels: {method: label}}
    outputs: dict[str, str]


@dataclass
class TablePlan:
    spec: dict
    problems: list[list[str]]  # [dataset, pid] in the table's row order
    k: dict[str, int]          # dataset -> compressor k
    outputs: dict[str, str]
    # rr Table 1: dataset -> {method: run id} of the figure named by ``runs_from``, and that
    # figure's selection rule (the runs' rounds are read at its chosen multiplier).
    runs: dict[str, dict[str, str]] = field(default_factory=dict)
    select: dict | None = None


@dataclass
class Plan:
    overrides: list[str]
    base: dict
    runs: dict[str, dict] = field(default_factory=dict)
    run_problem: dict[str, str] = field(default_factory=dict)
    problems: dict[str, dict] = field(default_factory=dict)
    figures: dict[str, FigurePlan] = field(default_factory=dict)
    tables: dict[str, TablePlan] = field(default_factory=dict)
    claims: dict[str, dict] = field(default_factory=dict)
    studies: dict[str, StudyPlan] = field(default_factory=dict)
    # A run split into jobs (``jobs.max_replicas``): rid -> {"runs": [shard rids], "index":
    # [[client-grid positions]], "per_gamma": E}; its trace is merged from the shards'.
    shards: dict[str, dict] = field(default_factory=dict)

    @property
    def results_root(self) -> str:
        return self.base["results_root"]

    @property
    def figures_root(self) -> str:
        return self.base["scale"]["figures_root"]

    def run_dir(self, rid: str) -> str:
        return f"{self.results_root}/runs/{rid}"

    def problem_dir(self, pid: str) -> str:
        return f"{self.results_root}/problems/{pid}"

    def spec_path(self, kind: str, ident: str) -> str:
        return f"{self.results_root}/plan/{self.base['scale']['name']}/{kind}/{slug(ident)}.json"

    @property
    def verification(self) -> str:
        return f"{self.figures_root}/VERIFICATION.md"

    def artifact_outputs(self) -> list[str]:
        out = []
        for fp in self.figures.values():
            out += list(fp.outputs.values())
        for tp in self.tables.values():
            out += list(tp.outputs.values())
        for sp in self.studies.values():
            out += list(sp.outputs.values())
        return out

    def papers(self) -> list[str]:
        return sorted({f.spec["paper"] for f in self.figures.values()}
                      | {t.spec["paper"] for t in self.tables.values()}
                      | {s.spec["paper"] for s in self.studies.values()})


def slug(ident: str) -> str:
    """``rr/fig1`` -> ``rr_fig1``: artifact ids as rule and file names."""
    return ident.replace("/", "_")


def _from_top(grid: list, stride: int) -> list:
    """Every ``stride``-th value of an ascending grid counted down from its largest value.

    A 2-D grid thinned for a short preview keeps its largest multipliers: over a tenth of
    the epochs they are the ones that can win (the smallest barely move).
    """
    return grid[::-1][::stride][::-1]


def _grid_txt(grid: list) -> str:
    """A multiplier list in Hydra's grammar, with the float formatting run ids were made with."""
    return "[" + ",".join(repr(float(g)) for g in grid) + "]"


def _outputs(root: str, ident: str, exts: tuple[str, ...]) -> dict[str, str]:
    return {ext: f"{root}/{ident}.{ext}" for ext in exts}


def build_plan(overrides: list[str] | None = None, config_dir: Path | None = None) -> Plan:
    overrides = list(overrides or [])
    with composer(config_dir) as c:
        base = to_plain(c(overrides))
        plan = Plan(overrides=overrides, base=base)

        def add_run(extra: list[str]) -> tuple[str, dict]:
            full = to_plain(c(overrides + extra))
            rc = run_config(full)
            rid, pid = run_id(rc), problem_id(rc)
            plan.runs[rid] = rc
            plan.run_problem[rid] = pid
            plan.problems[pid] = problem_config(rc)
            split = plan_shards(rc, base["jobs"]["max_replicas"])
            if split is not None:
                shard_ids = [run_id(sc) for sc in split["configs"]]
                for srid, sc in zip(shard_ids, split["configs"]):
                    plan.runs[srid] = sc
                    plan.run_problem[srid] = pid
                plan.shards[rid] = {"runs": shard_ids, "index": split["index"], "per_gamma": split["per_gamma"]}
            return rid, full

        for fig in base["artifacts"]["figures"]:
            spec = to_plain(c(overrides + [f"+figure={fig}"]))["figure"]
            stride = int(base["scale"]["grid_stride"])
            stride2 = int(base["scale"]["grid2d_stride"])
            grid = spec["grid"][::stride] if spec.get("grid") else None
            spec["grid_used"] = grid
            grids = spec.get("grids") or {}
            spec["grids_used"] = {m: {"grid": _from_top(g["grid"], stride2),
                                      "server_grid": _from_top(g["server_grid"], stride2)}
                                  for m, g in grids.items()}
            for method in spec["methods"]:
                if method not in grids and grid is None:
                    raise ConfigError(f"figure {fig}: method {method!r} has no grid (set figure.grid or "
                                      f"figure.grids.{method})")
            panels = []
            for panel in spec["panels"]:
                runs, labels, k = {}, {}, None
                for method in spec["methods"]:
                    if method in grids:
                        g2 = spec["grids_used"][method]
                        steps = [f"stepsize.grid={_grid_txt(g2['grid'])}",
                                 f"stepsize.server_grid={_grid_txt(g2['server_grid'])}"]
                    else:
                        steps = [f"stepsize.grid={_grid_txt(grid)}"]
                    extra = list(spec.get("run_overrides") or [])
                    extra += list((spec.get("method_overrides") or {}).get(method, []))
                    rid, full = add_run([f"dataset={panel['dataset']}", f"method={method}",
                                         *panel["overrides"], *steps, *extra])
                    runs[method] = rid
                    labels[method] = full["method"]["label"]
                    k = compressors.resolve_k(full["compressor"], full["dataset"]["n_features"])
                panels.append({"dataset": panel["dataset"], "k": k, "runs": runs, "labels": labels})
            outs = _outputs(plan.figures_root, fig, ("png", "pdf", "csv"))
            outs["selection"] = f"{plan.figures_root}/{fig}_selection.csv"
            outs["caption"] = f"{plan.figures_root}/{fig}_caption.md"
            plan.figures[fig] = FigurePlan(spec, panels, outs)

        for tab in base["artifacts"]["tables"]:
            spec = to_plain(c(overrides + [f"+table={tab}"]))["table"]
            probs, ks = [], {}
            for ds in spec["datasets"]:
                full = to_plain(c(overrides + [f"dataset={ds}"]))
                rc = run_config(full)
                pid = problem_id(rc)
                plan.problems[pid] = problem_config(rc)
                probs.append([ds, pid])
                ks[ds] = compressors.resolve_k(full["compressor"], full["dataset"]["n_features"])
            runs, sel = {}, None
            if spec.get("runs_from"):
                fig = spec["runs_from"]
                if fig not in plan.figures:
                    raise ConfigError(f"table {tab} reads the runs of figure {fig}: add {fig} to "
                                      "artifacts.figures (or set the table's runs_from to null)")
                fp = plan.figures[fig]
                runs = {p["dataset"]: dict(p["runs"]) for p in fp.panels if p["dataset"] in spec["datasets"]}
                sel = dict(fp.spec["select"])
            plan.tables[tab] = TablePlan(spec, probs, ks, _outputs(plan.figures_root, tab, ("md", "tex", "csv")),
                                         runs, sel)

        for sid in base["artifacts"]["compressor_studies"]:
            plan.studies[sid] = plan_study(c, overrides, sid, base)

        for paper in base["artifacts"]["claims"]:
            plan.claims[paper] = to_plain(c(overrides + [f"+claim={paper}"]))["claim"]
    return plan


def _write_if_changed(path: str | Path, text: str) -> None:
    p = Path(path)
    if p.exists() and p.read_text() == text:
        return  # keep the mtime: nothing downstream needs to rerun
    io.write_text(p, text)


def claims_doc(plan: Plan, paper: str) -> dict:
    """What the claim checker reads: the claims, the scale, and where every artifact lies."""
    return {"claims": plan.claims[paper], "scale": plan.base["scale"], "figures_root": plan.figures_root,
            "results_root": plan.results_root,
            "figures": {f: {"outputs": fp.outputs} for f, fp in plan.figures.items()},
            "tables": {t: {"outputs": tp.outputs} for t, tp in plan.tables.items()},
            "studies": {s: {"outputs": sp.outputs} for s, sp in plan.studies.items()}}


def materialize(plan: Plan) -> None:
    """Write what jobs read: run/problem configs, figure/table specs, the data location.

    Idempotent: files whose content is unchanged are not touched.
    """
    import json

    for rid, rc in plan.runs.items():
        _write_if_changed(f"{plan.run_dir(rid)}/config.json", json.dumps(rc, sort_keys=True, indent=1) + "\n")
    for rid, spec in plan.shards.items():
        _write_if_changed(f"{plan.run_dir(rid)}/shards.json", json.dumps(spec, sort_keys=True, indent=1) + "\n")
    for pid, pc in plan.problems.items():
        _write_if_changed(f"{plan.problem_dir(pid)}/config.json", json.dumps(pc, sort_keys=True, indent=1) + "\n")
    for fid, fp in plan.figures.items():
        body = {"spec": fp.spec, "panels": fp.panels, "outputs": fp.outputs,
                "scale": plan.base["scale"], "results_root": plan.results_root}
        _write_if_changed(plan.spec_path("figure", fid), json.dumps(body, sort_keys=True, indent=1) + "\n")
    for tid, tp in plan.tables.items():
        body = {"spec": tp.spec, "problems": tp.problems, "k": tp.k, "outputs": tp.outputs,
                "runs": tp.runs, "select": tp.select, "results_root": plan.results_root}
        _write_if_changed(plan.spec_path("table", tid), json.dumps(body, sort_keys=True, indent=1) + "\n")
    for sid, sp in plan.studies.items():
        _write_if_changed(plan.spec_path("study", sid), json.dumps(study_doc(sp, plan.base), sort_keys=True, indent=1) + "\n")
    for paper in plan.claims:
        body = claims_doc(plan, paper)
        _write_if_changed(plan.spec_path("claims", paper), json.dumps(body, sort_keys=True, indent=1) + "\n")
    _write_if_changed(f"{plan.results_root}/data.json", json.dumps(plan.base["data"], sort_keys=True, indent=1) + "\n")
    index = "run_id\tproblem_id\tdataset\tmethod\tcompressor\tmultipliers\tepochs\n" + "".join(
        f"{rid}\t{plan.run_problem[rid]}\t{rc['dataset']['name']}\t{rc['method']['name']}\t"
        f"{rc['compressor']['name']}:k={rc['compressor']['k']},k_fraction={rc['compressor']['k_fraction']}\t"
        f"{len(multipliers_of(rc)[0])}\t{rc['run']['epochs']}\n"
        for rid, rc in sorted(plan.runs.items())
    )
    _write_if_changed(f"{plan.results_root}/runs/index.tsv", index)


def _plan_key(overrides: list[str], config_dir: Path) -> str:
    """Everything a plan depends on: conf/ contents, overrides, the env it interpolates."""
    import hashlib
    import os

    h = hashlib.sha256()
    for p in sorted(config_dir.rglob("*.yaml")):
        h.update(str(p.relative_to(config_dir)).encode())
        h.update(p.read_bytes())
    for mod in ("config.py", "pipeline/plan.py", "pipeline/identity.py", "pipeline/studies.py",
                "pipeline/shards.py", "compressors/__init__.py"):
        h.update((Path(__file__).resolve().parents[1] / mod).read_bytes())
    env = {k: v for k, v in os.environ.items() if k.startswith("GRADCOMP_") or k == "HOME"}
    h.update(io.canonical_json({"overrides": overrides, "env": env}).encode())
    return h.hexdigest()[:16]


def _to_json(plan: Plan) -> dict:
    from dataclasses import asdict

    return asdict(plan)


def _from_json(d: dict) -> Plan:
    plan = Plan(overrides=d["overrides"], base=d["base"], runs=d["runs"], run_problem=d["run_problem"],
                problems=d["problems"], claims=d["claims"], shards=d.get("shards", {}))
    plan.figures = {k: FigurePlan(**v) for k, v in d["figures"].items()}
    plan.tables = {k: TablePlan(**v) for k, v in d["tables"].items()}
    plan.studies = {k: StudyPlan(**v) for k, v in d.get("studies", {}).items()}
    return plan


def load_plan(overrides: list[str] | None = None, config_dir: Path | None = None,
              cache_dir: str | Path = ".gradcomp-cache") -> Plan:
    """:func:`build_plan`, memoised on disk (composing ~30 configs takes seconds)."""
    import json

    from ..config import conf_dir

    overrides = list(overrides or [])
    cdir = Path(config_dir or conf_dir())
    path = Path(cache_dir) / f"plan-{_plan_key(overrides, cdir)}.json"
    if path.exists():
        return _from_json(json.loads(path.read_text()))
    plan = build_plan(overrides, cdir)
    io.write_text(path, json.dumps(_to_json(plan), sort_keys=True))
    return plan
