"""From ``conf/`` plus overrides to the list of jobs: problems, runs, figures, tables.

The plan is a pure function of the config tree and the overrides (no clocks, no
globbing), so the Snakefile can rebuild it on every parse. Every run is one Hydra
composition (the same one ``gradcomp run`` performs for the same overrides), named by
the hash of its resolved, canonical form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..config import composer
from ..kinds import SECTIONS, ArtifactPlan
from . import io
from .identity import RUN_KEYS, problem_config, problem_id, run_config, run_id
from .run import multipliers_of
from .shards import plan_shards


#: Where the plan writes what its jobs read (run and problem configs, artifact specs), relative
#: to the working directory: not under results/, so that parsing the Snakefile (a dry run
#: included) writes no result.
JOBS_ROOT = ".gradcomp-cache/jobs"


@dataclass
class Plan:
    overrides: list[str]
    base: dict
    runs: dict[str, dict] = field(default_factory=dict)
    run_problem: dict[str, str] = field(default_factory=dict)
    problems: dict[str, dict] = field(default_factory=dict)
    # artifacts.<section> -> {id: ArtifactPlan}, for the sections of gradcomp.kinds.SECTIONS
    sections: dict[str, dict[str, ArtifactPlan]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    claims: dict[str, dict] = field(default_factory=dict)
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

    @staticmethod
    def run_config_path(rid: str) -> str:
        return f"{JOBS_ROOT}/runs/{rid}.json"

    @staticmethod
    def shards_path(rid: str) -> str:
        return f"{JOBS_ROOT}/runs/{rid}.shards.json"

    @staticmethod
    def problem_config_path(pid: str) -> str:
        return f"{JOBS_ROOT}/problems/{pid}.json"

    @property
    def data_path(self) -> str:
        """The data settings the jobs read, named by their content: they follow the environment
        (GRADCOMP_DATA_MIRROR), and two builds planned in different environments at once must
        not overwrite each other's."""
        from .identity import digest

        return f"{JOBS_ROOT}/{self.base['scale']['name']}/data-{digest(self.base['data'])}.json"

    @property
    def index_path(self) -> str:
        return f"{JOBS_ROOT}/{self.base['scale']['name']}/index.tsv"

    def spec_path(self, kind: str, ident: str) -> str:
        return f"{JOBS_ROOT}/{self.base['scale']['name']}/{kind}/{slug(ident)}.json"

    @property
    def figures(self) -> dict[str, ArtifactPlan]:
        return self.sections["figures"]

    @property
    def tables(self) -> dict[str, ArtifactPlan]:
        return self.sections["tables"]

    @property
    def studies(self) -> dict[str, ArtifactPlan]:
        return self.sections["compressor_studies"]

    def artifacts(self):
        """``(section, rule prefix, id, ArtifactPlan)`` of every artifact, in config order."""
        for name, (_, _, prefix) in SECTIONS.items():
            for ident, ap in self.sections[name].items():
                yield name, prefix, ident, ap

    @property
    def verification(self) -> str:
        return f"{self.figures_root}/VERIFICATION.md"

    def artifact_outputs(self) -> list[str]:
        return [p for _, _, _, ap in self.artifacts() for p in ap.outputs.values()]

    def papers(self) -> list[str]:
        return sorted({ap.spec["paper"] for _, _, _, ap in self.artifacts()})


def slug(ident: str) -> str:
    """``rr/fig1`` -> ``rr_fig1``: artifact ids as rule and file names."""
    return ident.replace("/", "_")


class Planner:
    """What an artifact kind plans with: compose configs, add runs and problems.

    ``compose`` is memoised by its overrides: figures that share runs (a companion figure
    and the figure it extends) compose each run once.
    """

    def __init__(self, plan: Plan, compose):
        self.plan = plan
        self._compose = compose
        self._memo: dict[tuple[str, ...], dict] = {}

    @property
    def base(self) -> dict:
        return self.plan.base

    @property
    def figures_root(self) -> str:
        return self.plan.figures_root

    def compose(self, extra: list[str], keys: tuple[str, ...] | None = None) -> dict:
        """The plain config of the plan's overrides plus ``extra`` (only its top-level
        ``keys`` if given: a run needs its own part of the config, not the rest)."""
        key = (tuple(self.plan.overrides) + tuple(extra), keys)
        if key not in self._memo:
            self._memo[key] = self._compose.plain(list(key[0]), keys)
        return self._memo[key]

    def add_run(self, extra: list[str]) -> tuple[str, dict]:
        """Add the run of ``extra`` (checked: :func:`~gradcomp.pipeline.validate.check_run`);
        ``(run id, full plain config)``."""
        full = self.compose(extra, RUN_KEYS)
        rc = run_config(full)
        rid, pid = run_id(rc), problem_id(rc)
        plan = self.plan
        plan.runs[rid] = rc
        plan.run_problem[rid] = pid
        plan.problems[pid] = problem_config(rc)
        split = plan_shards(rc, plan.base["jobs"]["max_replicas"])
        if split is not None:
            shard_ids = [run_id(sc) for sc in split["configs"]]
            for srid, sc in zip(shard_ids, split["configs"]):
                plan.runs[srid] = sc
                plan.run_problem[srid] = pid
            plan.shards[rid] = {"runs": shard_ids, "index": split["index"], "per_gamma": split["per_gamma"]}
        return rid, full

    def add_problem(self, extra: list[str]) -> tuple[str, dict]:
        """Add the problem of ``extra`` (the default run config's problem); ``(problem id, full config)``."""
        full = self.compose(extra, RUN_KEYS)
        rc = run_config(full)
        pid = problem_id(rc)
        self.plan.problems[pid] = problem_config(rc)
        return pid, full

    def artifacts(self, section: str) -> dict[str, ArtifactPlan]:
        """The artifacts of a section planned so far (a table reading a figure's runs)."""
        return self.plan.sections[section]


def build_plan(overrides: list[str] | None = None, config_dir: Path | None = None,
               progress: Optional[Callable[[str], None]] = None) -> Plan:
    """The plan of ``overrides``; ``progress`` (if given) hears of each artifact as it is
    composed (composing takes seconds to minutes, so a user should see it move)."""
    from ..verify.base import check_claims

    overrides = list(overrides or [])
    with composer(config_dir) as c:
        base = c.plain(overrides)
        plan = Plan(overrides=overrides, base=base)
        planner = Planner(plan, c)
        todo = [(s, i) for s in SECTIONS for i in base["artifacts"][s]]
        for n, (section, ident) in enumerate(todo, 1):
            group, kinds, _ = SECTIONS[section]
            if progress is not None:
                progress(f"planning {ident} ({n}/{len(todo)}, {len(plan.runs)} runs so far)")
            spec = planner.compose([f"+{group}={ident}"])[group]
            plan.sections[section][ident] = kinds[spec["kind"]].plan(ident, spec, planner)
        for paper in base["artifacts"]["claims"]:
            claims = planner.compose([f"+claim={paper}"])["claim"]
            check_claims(claims)
            plan.claims[paper] = claims
    return plan


def _write_if_changed(path: str | Path, text: str, named_by_content: bool = False) -> None:
    """Write ``text`` unless the file already holds it (its mtime then stays: nothing
    downstream reruns). A file ``named_by_content`` (a run or problem config, whose id is the
    hash of its content) gets the oldest mtime, so that writing it again after the cache was
    deleted reruns nothing either."""
    p = Path(path)
    if p.exists() and p.read_text() == text:
        return
    io.write_text(p, text)
    if named_by_content:
        os.utime(p, (0, 0))


def claims_doc(plan: Plan, paper: str) -> dict:
    """What the claim checker reads: the claims, the scale, and where every artifact lies."""
    return {"claims": plan.claims[paper], "scale": plan.base["scale"], "figures_root": plan.figures_root,
            "results_root": plan.results_root,
            "figures": {f: {"outputs": fp.outputs} for f, fp in plan.figures.items()},
            "tables": {t: {"outputs": tp.outputs} for t, tp in plan.tables.items()},
            "studies": {s: {"outputs": sp.outputs} for s, sp in plan.studies.items()}}


def artifact_doc(plan: Plan, section: str, ap: ArtifactPlan) -> dict:
    """What an artifact's job reads: its kind, spec, the kind's plan, outputs and context.

    The ``report`` settings go to the artifacts that draw an image alone: switching them
    changes only those specs, so only those jobs rerun (no run or table; a Monte Carlo study
    that draws an image, oc/bits-vs-error, draws its samples again, with the same seed).
    """
    doc = {"section": section, "kind": ap.kind, "spec": ap.spec, **ap.doc, "outputs": ap.outputs,
           "scale": plan.base["scale"], "results_root": plan.results_root, "seed": plan.base["seed"]}
    if "png" in ap.outputs:
        doc["report"] = plan.base["report"]
    return doc


def materialize(plan: Plan) -> None:
    """Write what jobs read under :data:`JOBS_ROOT`: run/problem configs, artifact specs, the
    data location, and the index of runs.

    Idempotent: files whose content is unchanged are not touched.
    """
    import json

    for rid, rc in plan.runs.items():
        _write_if_changed(plan.run_config_path(rid), json.dumps(rc, sort_keys=True, indent=1) + "\n", True)
    for rid, spec in plan.shards.items():
        _write_if_changed(plan.shards_path(rid), json.dumps(spec, sort_keys=True, indent=1) + "\n", True)
    for pid, pc in plan.problems.items():
        _write_if_changed(plan.problem_config_path(pid), json.dumps(pc, sort_keys=True, indent=1) + "\n", True)
    for section, prefix, ident, ap in plan.artifacts():
        body = artifact_doc(plan, section, ap)
        _write_if_changed(plan.spec_path(prefix, ident), json.dumps(body, sort_keys=True, indent=1) + "\n")
    for paper in plan.claims:
        body = claims_doc(plan, paper)
        _write_if_changed(plan.spec_path("claims", paper), json.dumps(body, sort_keys=True, indent=1) + "\n")
    _write_if_changed(plan.data_path, json.dumps(plan.base["data"], sort_keys=True, indent=1) + "\n")
    index = "run_id\tproblem_id\tdataset\tmethod\tcompressor\treplicas\tepochs\n" + "".join(
        f"{rid}\t{plan.run_problem[rid]}\t{rc['dataset']['name']}\t{rc['method']['name']}\t"
        f"{_compressor_txt(rc['compressor'])}\t"
        f"{len(next(iter(multipliers_of(rc).values())))}\t{rc['run']['epochs']}\n"
        for rid, rc in sorted(plan.runs.items())
    )
    _write_if_changed(plan.index_path, index)


def _compressor_txt(comp: dict) -> str:
    """A compressor config in one index cell: its name and scalar settings."""
    return comp["name"] + ":" + ",".join(f"{k}={v}" for k, v in sorted(comp.items())
                                          if k != "name" and not isinstance(v, (dict, list)))


def _plan_key(overrides: list[str], config_dir: Path) -> str:
    """Everything a plan depends on: conf/ contents, overrides, the env it interpolates, and
    the package's code (every plug-in's declaration takes part in planning)."""
    import hashlib
    import os

    h = hashlib.sha256()
    for p in sorted(config_dir.rglob("*.yaml")):
        h.update(str(p.relative_to(config_dir)).encode())
        h.update(p.read_bytes())
    pkg = Path(__file__).resolve().parents[1]
    for p in sorted(pkg.rglob("*.py")):
        h.update(str(p.relative_to(pkg)).encode())
        h.update(p.read_bytes())
    env = {k: v for k, v in os.environ.items() if k.startswith("GRADCOMP_") or k == "HOME"}
    h.update(io.canonical_json({"overrides": overrides, "env": env}).encode())
    return h.hexdigest()[:16]


def _to_json(plan: Plan) -> dict:
    from dataclasses import asdict

    return asdict(plan)


def _from_json(d: dict) -> Plan:
    sections = {s: {k: ArtifactPlan(**v) for k, v in arts.items()} for s, arts in d["sections"].items()}
    return Plan(overrides=d["overrides"], base=d["base"], runs=d["runs"], run_problem=d["run_problem"],
                problems=d["problems"], sections=sections, claims=d["claims"], shards=d["shards"])


def stderr_progress(msg: str) -> None:
    """One line per step on stderr (the console under Snakemake and ``gradcomp plan``)."""
    import sys

    print(f"gradcomp: {msg}", file=sys.stderr, flush=True)


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
    plan = build_plan(overrides, cdir, progress=stderr_progress)
    io.write_text(path, json.dumps(_to_json(plan), sort_keys=True))
    return plan
