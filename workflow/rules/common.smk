# Compose conf/ with the overrides once per parse (memoised on disk), and write the
# files the jobs read. Nothing here depends on clocks or on directory listings.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from gradcomp.config import ConfigError  # noqa: E402
from gradcomp.kinds import SECTIONS  # noqa: E402
from gradcomp.pipeline.plan import load_plan, materialize, slug  # noqa: E402

_overrides = config.get("overrides", [])
if isinstance(_overrides, str):
    _overrides = [_overrides]
try:
    PLAN = load_plan([str(o) for o in _overrides])
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
materialize(PLAN)

RESULTS = PLAN.results_root
FIGROOT = PLAN.figures_root
PY = sys.executable
SRC = str(Path(workflow.basedir) / "src")
JOB = f"PYTHONPATH={SRC} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 {PY} -m gradcomp.pipeline.jobs"
# A job's output goes to its log; when it fails, its error message (a user's error: one
# "gradcomp: error:" line) or else the log's last lines are repeated on the console, ahead
# of Snakemake's own report.
TO_LOG = (" > {log} 2>&1 || { if grep -q '^gradcomp: error' {log}; then sed -n '/^gradcomp: error/,$p' {log} >&2;"
          " else tail -n 15 {log} >&2; fi; exit 1; }").replace("{ ", "{{ ").replace("; }", "; }}")

# A job depends on the code that computes it (Snakemake does not track imports). Each kind
# of job reads one stamp of its code (rule code_stamp) instead of the source files: the
# scheduler stats every input of every ready job each time it selects jobs, and the ~55
# sources of each run made that most of a small build's time.
_pkg = Path(SRC) / "gradcomp"
CODE_PROBLEM = sorted(str(p) for d in ("data", "problems") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "problem.py")]
CODE_RUN = CODE_PROBLEM + sorted(
    str(p) for d in ("compressors", "methods", "theory") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "run.py"), str(_pkg / "seeding.py")]
CODE_MERGE = [str(_pkg / "pipeline" / "shards.py")]
# An artifact depends on the code that plans and renders it (and a compressor study on the
# compressors it measures).
CODE_ARTIFACT = sorted(str(p) for d in ("report", "kinds", "compressors", "theory") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "select.py"), str(_pkg / "seeding.py")]
CODE = {"problem": CODE_PROBLEM, "run": CODE_RUN, "merge": CODE_MERGE, "artifact": CODE_ARTIFACT}


def code_stamp(part):
    return f"{RESULTS}/code/{part}.stamp"


for _part, _files in CODE.items():

    rule:
        """results/code/<part>.stamp: the sha256 of every source file a kind of job runs;
        newer than its jobs' outputs whenever one of those files is (they rerun, as with the
        files as inputs)."""
        name:
            f"code_stamp_{_part}"
        input:
            _files,
        output:
            code_stamp(_part),
        log:
            f"{RESULTS}/logs/code_stamp/{_part}.log",  # empty: written in Snakemake's process
        localrule: True
        run:
            import hashlib

            with open(output[0], "w") as fh:
                for f in input:
                    fh.write(f"{hashlib.sha256(Path(f).read_bytes()).hexdigest()}  {Path(f).relative_to(SRC)}\n")


# The run ids whose trace is merged from shards, as a wildcard regex (never matches if none).
SPLIT_RUNS = "|".join(sorted(PLAN.shards)) or "(?!)"

ARTIFACTS = PLAN.artifact_outputs()
VERIFICATION = PLAN.verification
MANIFESTS = [f"{FIGROOT}/{paper}/MANIFEST" for paper in PLAN.papers()]
